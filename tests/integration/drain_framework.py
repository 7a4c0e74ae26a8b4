#!/usr/bin/env python3
"""An operator drains an agent under a framework's long-running tasks.

Speaks only Mesos' published HTTP APIs (the v1 scheduler API for the
framework, POST /api/v1 for the operator), with Python's standard library.
The framework launches tasks that ignore SIGTERM and ask for a 10-minute
kill grace period; the operator drains their agent with a 2-second cap.
Checked, as Mesos documents draining (docs/maintenance.md):
  - bad operator calls are refused with 400 and a body naming the problem;
  - every task ends TASK_KILLED with reason REASON_AGENT_DRAINING within the
    cap (far sooner than its own grace period);
  - the agent is DRAINING, then DRAINED once the ends are acknowledged, and
    REACTIVATE_AGENT is refused until then;
  - a drained agent is offered to nobody; reactivated, it is offered again.

Usage: drain_framework.py --master=HOST:PORT [--tasks=N]
Prints one line per finding and "ok: ..." last; exits non-zero on failure.
"""
import argparse
import http.client
import json
import sys
import time

from http_framework import (Failure, Master, Subscription, acknowledge,
                            agent_entry, expect, launch_all, operator,
                            run_script)

GRACE_CAP_SECONDS = 2
# Ignores SIGTERM (and so does every child it starts): only the SIGKILL at
# the end of the grace period ends it.
COMMAND = "trap '' TERM; while true; do sleep 0.2; done"


def drain_state(address, agent_id):
    return agent_entry(address, agent_id).get("drain_info", {}).get("state")


def check_refusals(address, agent_id):
    cases = [
        ("an unknown agent",
         {"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "no"}}},
         "drain_agent.agent_id: unknown agent"),
        ("a negative grace period",
         {"type": "DRAIN_AGENT", "drain_agent": {
             "agent_id": {"value": agent_id},
             "max_grace_period": {"seconds": -1}}},
         "must not be negative"),
        ("a grace period that is not a Duration",
         {"type": "DRAIN_AGENT", "drain_agent": {
             "agent_id": {"value": agent_id}, "max_grace_period": "10mins"}},
         "max_grace_period"),
        ("reactivating an agent that is not deactivated",
         {"type": "REACTIVATE_AGENT", "reactivate_agent": {
             "agent_id": {"value": agent_id}}},
         "is not deactivated"),
    ]
    for what, body, needle in cases:
        status, text = operator(address, body)
        expect(status == 400 and needle in text,
               f"{what}: expected 400 mentioning {needle!r}, got {status}: "
               f"{text}")
        print(f"refused {what}: {status} {text}")
    expect("drain_info" not in agent_entry(address, agent_id),
           "a refused call changed the agent")


def run(args):
    deadline = time.monotonic() + args.timeout
    sub = Subscription(args.master, "drain-framework", args.timeout)
    master = Master(args.master, args.timeout)
    agent_id, launched = launch_all(sub, master, args.tasks, deadline,
                                    COMMAND, kill_policy={"grace_period": {
                                        "nanoseconds": 600 * 10**9}})
    print(f"{len(launched)} tasks running on agent {agent_id}")
    # TASK_RUNNING comes once the shell is started, perhaps before it has
    # run its `trap`: give each a moment, or a SIGTERM could end it at once.
    time.sleep(1)
    check_refusals(args.master, agent_id)

    status, text = operator(args.master, {
        "type": "DRAIN_AGENT", "drain_agent": {
            "agent_id": {"value": agent_id},
            "max_grace_period": {"seconds": GRACE_CAP_SECONDS}}})
    expect(status == 200, f"DRAIN_AGENT answered {status}: {text}")
    drained_at = time.monotonic()
    entry = agent_entry(args.master, agent_id)
    expect(entry.get("deactivated") is True and
           entry.get("drain_info", {}).get("state") == "DRAINING",
           f"not DRAINING after DRAIN_AGENT: {entry}")
    status, text = operator(args.master, {
        "type": "REACTIVATE_AGENT",
        "reactivate_agent": {"agent_id": {"value": agent_id}}})
    expect(status == 400 and "DRAINING" in text,
           f"REACTIVATE_AGENT while draining answered {status}: {text}")
    print("DRAINING; reactivation refused meanwhile")

    ended = {}
    while len(ended) < len(launched):
        expect(time.monotonic() < deadline, "the drain did not end the tasks")
        event = sub.next_event()
        expect(event is not None, "the master closed the event stream")
        expect(event["type"] != "OFFERS"
               or all(o["agent_id"]["value"] != agent_id
                      for o in event["offers"]["offers"]),
               "the draining agent was offered")
        if event["type"] != "UPDATE":
            continue
        status = event["update"]["status"]
        task_id = status["task_id"]["value"]
        if status["state"] == "TASK_KILLING":
            expect(status.get("reason") == "REASON_AGENT_DRAINING",
                   f"{task_id} KILLING without the drain's reason: {status}")
        elif status["state"] != "TASK_RUNNING":
            expect(status["state"] == "TASK_KILLED" and
                   status.get("reason") == "REASON_AGENT_DRAINING",
                   f"{task_id} ended {status['state']} "
                   f"({status.get('reason')}): {status.get('message', '')}")
            ended[task_id] = time.monotonic() - drained_at
        acknowledge(sub, master, status)
    slowest = max(ended.values())
    # Each task waited out the 2 s cap (it ignores SIGTERM), never its own
    # 10 minutes.
    expect(slowest < GRACE_CAP_SECONDS + 20,
           f"the last task took {slowest:.1f}s to end")
    expect(min(ended.values()) >= GRACE_CAP_SECONDS - 0.5,
           f"a task ended {min(ended.values()):.1f}s after the drain, before "
           f"its grace period")
    print(f"all {len(ended)} tasks KILLED (REASON_AGENT_DRAINING), the last "
          f"{slowest:.1f}s after the drain")

    while drain_state(args.master, agent_id) != "DRAINED":
        expect(time.monotonic() < deadline, "the agent never became DRAINED")
        time.sleep(0.1)
    print("DRAINED")
    host, port = args.master.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/state")
    state = json.loads(conn.getresponse().read())
    conn.close()
    slave = [s for s in state["slaves"] if s["id"] == agent_id][0]
    expect(slave["active"] is False and slave["deactivated"] is True and
           slave.get("drain_info", {}).get("state") == "DRAINED" and
           "estimated_drain_start_time_seconds" in slave,
           f"/state does not show the drained agent as Mesos does: {slave}")
    print("/state: deactivated, drain_info DRAINED")
    # Nothing of the drained agent is offered: with its filters cleared the
    # framework would be offered all of it at once, and the offer would
    # stay outstanding (nobody reads the stream meanwhile).
    master.call(sub, {"type": "REVIVE"})
    quiet_until = time.monotonic() + 2
    while time.monotonic() < quiet_until:
        offered = agent_entry(args.master, agent_id).get("offered_resources")
        expect(not offered, f"a drained agent was offered: {offered}")
        time.sleep(0.1)
    print("nothing of the drained agent offered for 2 s")

    status, text = operator(args.master, {
        "type": "REACTIVATE_AGENT",
        "reactivate_agent": {"agent_id": {"value": agent_id}}})
    expect(status == 200, f"REACTIVATE_AGENT answered {status}: {text}")
    while True:
        expect(time.monotonic() < deadline, "no offer after reactivation")
        event = sub.next_event()
        expect(event is not None, "the master closed the event stream")
        if event["type"] == "OFFERS" and any(
                o["agent_id"]["value"] == agent_id
                for o in event["offers"]["offers"]):
            break
    print("reactivated: offered again")
    master.call(sub, {"type": "TEARDOWN"})
    print(f"ok: {len(ended)} tasks drained in {slowest:.1f}s, agent "
          f"DRAINED and reactivated")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", required=True)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120)
    return run_script(run, parser)


if __name__ == "__main__":
    sys.exit(main())
