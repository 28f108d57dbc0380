"""LIBERO's original HDF5 demonstrations -> a LeRobot v3 dataset with this project's names.

LIBERO's layout (one file per task, robomimic style):

    data                      attrs: problem_info (JSON with "language_instruction"), bddl_file_name,
                                     macros_image_convention ("opengl": images stored upside down), env_args
      demo_<k>/actions        (N, 7) float: OSC pose delta in [-1, 1] and the gripper (-1 open, +1 closed)
      demo_<k>/obs/agentview_rgb, eye_in_hand_rgb   (N, H, W, 3) uint8
      demo_<k>/obs/ee_states  (N, 6) tool position and axis-angle;  gripper_states (N, 2);  joint_states (N, 7)
      demo_<k>/dones          (N,) optional

The result uses the names `vla_sim.libero.env.LiberoEnv` records (a test checks they agree), so converted
human demonstrations and the project's scripted ones train the same policy. No grounding labels: the files
hold no object poses (they are -1, "missing", for the trainer).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vla_data.errors import DatasetError

FPS = 20
ROBOT_TYPE = "panda_libero"
CAMERAS = {"agentview_rgb": "scene", "eye_in_hand_rgb": "wrist"}  # LIBERO key -> project camera name
LOW_DIM = {"ee_states": 6, "gripper_states": 2, "joint_states": 7}  # LIBERO key -> width
ACTION_NAMES = ("osc.dx", "osc.dy", "osc.dz", "osc.drx", "osc.dry", "osc.drz", "gripper")
STATE_NAMES = tuple(f"arm.joint{i}" for i in range(1, 8)) + ("ee.x", "ee.y", "ee.z", "ee.qw", "ee.qx", "ee.qy",
                                                            "ee.qz", "gripper.finger_left", "gripper.finger_right")


@dataclass
class ConvertResult:
    episodes: int
    frames: int
    instruction: str


def convert_libero_hdf5(path: str | Path, out: str | Path, *, video_codec: str | None = None,
                        progress: bool = True) -> ConvertResult:
    """Convert every demo of one LIBERO HDF5 file into a new dataset at `out`. The whole file is checked
    before anything is written: a file not in LIBERO's layout raises DatasetError naming what is wrong.
    Videos default to H.264 (as `vla collect`: PyAV's SVT-AV1 encoder has hung in long runs here)."""
    import h5py
    from tqdm import tqdm

    from vla_data.writer import LeRobotDatasetWriter

    path, out = Path(path), Path(out)
    if not path.is_file():
        raise DatasetError(f"{path} does not exist or is not a file: pass a LIBERO .hdf5 demonstration file")
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"output folder {out} exists and is not empty: choose a new path (nothing was written)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DatasetError(f"{path} is not an HDF5 file ({e}): pass a LIBERO .hdf5 demonstration file") from e
    with f:
        demos, instruction, flip = _check_layout(f, path)
        first = f["data"][demos[0]]["obs"]
        features = _features({CAMERAS[k]: first[k].shape[1:3] for k in CAMERAS})
        frames = 0
        with LeRobotDatasetWriter(out, fps=FPS, features=features, robot_type=ROBOT_TYPE,
                                  video_codec=video_codec or "h264") as writer:
            for name in tqdm(demos, desc=f"convert {path.name}", unit="demo", disable=not progress):
                frames += _write_demo(writer, f["data"][name], instruction, flip)
                writer.save_episode()
    return ConvertResult(len(demos), frames, instruction)


def _check_layout(f, path: Path) -> tuple[list[str], str, bool]:
    """The demo names in numeric order, the instruction and whether images are upside down."""
    where = f"{path} is not in LIBERO's layout"
    if "data" not in f:
        raise DatasetError(f"{where}: no 'data' group (it has {sorted(f.keys())})")
    data = f["data"]
    demos = sorted((k for k in data.keys() if re.fullmatch(r"demo_\d+", k)), key=lambda k: int(k[5:]))
    if not demos:
        raise DatasetError(f"{where}: 'data' holds no demo_<k> groups")
    for name in demos:
        demo = data[name]
        if "actions" not in demo or "obs" not in demo:
            raise DatasetError(f"{where}: data/{name} needs 'actions' and 'obs'")
        n, width = (demo["actions"].shape + (0,))[:2]
        if demo["actions"].ndim != 2 or width != len(ACTION_NAMES) or n == 0:
            raise DatasetError(f"{where}: data/{name}/actions has shape {demo['actions'].shape}, expected (N, 7)")
        obs = demo["obs"]
        for key in CAMERAS:
            if key not in obs or obs[key].shape[0] != n or obs[key].ndim != 4 or obs[key].shape[3] != 3 \
                    or obs[key].dtype != np.uint8:
                got = f"{obs[key].shape} {obs[key].dtype}" if key in obs else "missing"
                raise DatasetError(f"{where}: data/{name}/obs/{key} must be ({n}, H, W, 3) uint8 (got {got})")
        for key, dim in LOW_DIM.items():
            if key not in obs or obs[key].shape != (n, dim):
                got = obs[key].shape if key in obs else "missing"
                raise DatasetError(f"{where}: data/{name}/obs/{key} must be ({n}, {dim}) (got {got})")
    return demos, _instruction(data.attrs, where), _flipped(data.attrs)


def _instruction(attrs, where: str) -> str:
    info = attrs.get("problem_info")
    if info is not None:
        try:
            text = json.loads(info if isinstance(info, str) else info.decode()).get("language_instruction")
        except (ValueError, AttributeError) as e:
            raise DatasetError(f"{where}: data.attrs['problem_info'] is not JSON ({e})") from e
        if text:
            return " ".join(str(text).split())
    bddl = attrs.get("bddl_file_name")
    if bddl is not None:  # LIBERO's benchmark derives the instruction from the file name the same way
        stem = Path(bddl if isinstance(bddl, str) else bddl.decode()).stem
        stem = stem.split("SCENE", 1)[1].split("_", 1)[1] if "SCENE" in stem else stem
        return stem.replace("_", " ")
    raise DatasetError(f"{where}: no instruction (data.attrs needs problem_info.language_instruction "
                       "or bddl_file_name)")


def _flipped(attrs) -> bool:
    convention = attrs.get("macros_image_convention", "opengl")
    convention = convention if isinstance(convention, str) else convention.decode()
    return convention != "opencv"


def _features(sizes: dict[str, tuple[int, int]]) -> dict:
    feats: dict[str, dict] = {
        f"observation.images.{cam}": {"dtype": "video", "shape": [int(h), int(w), 3],
                                      "names": ["height", "width", "channels"]}
        for cam, (h, w) in sizes.items()
    }
    feats["observation.state"] = {"dtype": "float32", "shape": [len(STATE_NAMES)], "names": list(STATE_NAMES)}
    feats["action"] = {"dtype": "float32", "shape": [len(ACTION_NAMES)], "names": list(ACTION_NAMES)}
    feats["next.success"] = {"dtype": "bool", "shape": [1], "names": None}
    feats["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    return feats


def _write_demo(writer, demo, instruction: str, flip: bool) -> int:
    obs = demo["obs"]
    actions = np.asarray(demo["actions"], np.float32)
    ee = np.asarray(obs["ee_states"], np.float64)
    state = np.concatenate([np.asarray(obs["joint_states"]), ee[:, :3], axis_angle_to_wxyz(ee[:, 3:6]),
                            np.asarray(obs["gripper_states"])], axis=1).astype(np.float32)
    images = {CAMERAS[k]: np.asarray(obs[k]) for k in CAMERAS}
    n = len(actions)
    for t in range(n):
        frame = {f"observation.images.{cam}": (img[t, ::-1] if flip else img[t]) for cam, img in images.items()}
        frame.update({"observation.state": state[t], "action": actions[t],
                      "next.success": np.array([t == n - 1]), "next.done": np.array([t == n - 1])})
        writer.add_frame(frame, task=instruction)
    return n


def axis_angle_to_wxyz(rotvec: np.ndarray) -> np.ndarray:
    """(N, 3) axis-angle vectors -> (N, 4) unit quaternions, scalar first (scipy's Rotation)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(rotvec).as_quat(scalar_first=True)
