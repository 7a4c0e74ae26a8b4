#!/usr/bin/env python3
"""A framework is asked to leave a machine scheduled for maintenance.

Speaks only Mesos' published HTTP APIs (the v1 scheduler API for the
framework, POST /api/v1 for the operator), with Python's standard library.
The framework runs tasks on an agent; the operator schedules a maintenance
window for the agent's machine. Checked, as Mesos documents maintenance
(docs/maintenance.md):
  - the framework gets INVERSE_OFFERS for that agent carrying the window's
    unavailability, and is not asked again while one is outstanding;
  - ACCEPT_INVERSE_OFFERS shows in GET_MAINTENANCE_STATUS as the
    framework's ACCEPT; an answer without its field is refused with 400;
  - a new window rescinds the outstanding inverse offer
    (RESCIND_INVERSE_OFFER), forgets the answers, and asks again at once;
  - DECLINE_INVERSE_OFFERS shows as DECLINE.

Usage: maintenance_framework.py --master=HOST:PORT [--tasks=N]
Prints one line per finding and "ok: ..." last; exits non-zero on failure.
"""
import argparse
import json
import sys
import time

from http_framework import (Master, Subscription, acknowledge, agent_entry,
                            expect, launch_all, operator, run_script)

HOUR_NS = 3600 * 10**9


def schedule(address, hostname, start_ns):
    status, text = operator(address, {
        "type": "UPDATE_MAINTENANCE_SCHEDULE",
        "update_maintenance_schedule": {"schedule": {"windows": [{
            "machine_ids": [{"hostname": hostname}],
            "unavailability": {"start": {"nanoseconds": start_ns},
                               "duration": {"nanoseconds": HOUR_NS}}}]}}})
    expect(status == 200,
           f"UPDATE_MAINTENANCE_SCHEDULE answered {status}: {text}")


def answers(address):
    """The frameworks' answers for the one draining machine."""
    status, text = operator(address, {"type": "GET_MAINTENANCE_STATUS"})
    expect(status == 200, f"GET_MAINTENANCE_STATUS answered {status}: {text}")
    machines = json.loads(text)["get_maintenance_status"]["status"].get(
        "draining_machines", [])
    expect(len(machines) == 1, f"not one draining machine: {machines}")
    return machines[0].get("statuses", [])


def next_of(sub, master, kinds, deadline, quiet=()):
    """The next event of one of `kinds`; offers meanwhile are declined and
    updates acknowledged. An event of a kind in `quiet` is a failure."""
    while True:
        expect(time.monotonic() < deadline, f"no {kinds} in time")
        event = sub.next_event()
        expect(event is not None, "the master closed the event stream")
        kind = event["type"]
        expect(kind not in quiet, f"unexpected {kind}: {event}")
        if kind in kinds:
            return event
        if kind == "OFFERS":
            master.call(sub, {"type": "DECLINE", "decline": {
                "offer_ids": [o["id"] for o in event["offers"]["offers"]]}})
        elif kind == "UPDATE":
            acknowledge(sub, master, event["update"]["status"])


def inverse_offer_for(event, agent_id, start_ns):
    offers = event["inverse_offers"]["inverse_offers"]
    expect(len(offers) == 1, f"not one inverse offer: {offers}")
    offer = offers[0]
    expect(offer["agent_id"]["value"] == agent_id,
           f"an inverse offer for another agent: {offer}")
    start = int(offer["unavailability"]["start"]["nanoseconds"])
    expect(start == start_ns,
           f"the inverse offer's window starts at {start}, not {start_ns}")
    return offer


def run(args):
    deadline = time.monotonic() + args.timeout
    sub = Subscription(args.master, "maintenance-framework", args.timeout)
    master = Master(args.master, args.timeout)
    agent_id, launched = launch_all(sub, master, args.tasks, deadline,
                                    "sleep 1000")
    hostname = agent_entry(args.master, agent_id)["agent_info"]["hostname"]
    print(f"{len(launched)} tasks running on agent {agent_id} ({hostname})")

    start = time.time_ns() + HOUR_NS
    schedule(args.master, hostname, start)
    event = next_of(sub, master, ("INVERSE_OFFERS",), deadline)
    first = inverse_offer_for(event, agent_id, start)
    print(f"inverse offer {first['id']['value']} for the agent's window")
    expect(answers(args.master) == [], "an answer before any was given")

    text = master.call(sub, {"type": "ACCEPT_INVERSE_OFFERS"}, expected=400)
    expect("accept_inverse_offers" in text,
           f"an answer without its field refused without saying so: {text}")
    # Not asked again while the inverse offer is outstanding (the master
    # considers it every second).
    quiet_until = time.monotonic() + 2.5
    while time.monotonic() < quiet_until:
        offers = sub.next_event()
        expect(offers is not None, "the master closed the event stream")
        expect(offers["type"] != "INVERSE_OFFERS",
               f"asked again while outstanding: {offers}")
        if offers["type"] == "OFFERS":
            master.call(sub, {"type": "DECLINE", "decline": {
                "offer_ids": [o["id"] for o in offers["offers"]["offers"]]}})
    master.call(sub, {"type": "ACCEPT_INVERSE_OFFERS", "accept_inverse_offers": {
        "inverse_offer_ids": [first["id"]],
        "filters": {"refuse_seconds": 3600}}})
    while not answers(args.master):
        expect(time.monotonic() < deadline, "the answer never showed")
        time.sleep(0.05)
    got = answers(args.master)
    expect(len(got) == 1 and got[0]["status"] == "ACCEPT" and
           got[0]["framework_id"]["value"] == sub.framework_id,
           f"GET_MAINTENANCE_STATUS does not show the ACCEPT: {got}")
    print("ACCEPT_INVERSE_OFFERS shows in GET_MAINTENANCE_STATUS")

    # A new window: asked again at once, despite the hour-long filter.
    start += HOUR_NS
    schedule(args.master, hostname, start)
    event = next_of(sub, master, ("INVERSE_OFFERS",), deadline)
    second = inverse_offer_for(event, agent_id, start)
    expect(answers(args.master) == [], "the old window's answer was kept")
    # Another one while it is outstanding: rescinded, and asked afresh.
    start += HOUR_NS
    schedule(args.master, hostname, start)
    event = next_of(sub, master, ("RESCIND_INVERSE_OFFER",), deadline,
                    quiet=("INVERSE_OFFERS",))
    rescinded = event["rescind_inverse_offer"]["inverse_offer_id"]["value"]
    expect(rescinded == second["id"]["value"],
           f"rescinded {rescinded}, not {second['id']['value']}")
    event = next_of(sub, master, ("INVERSE_OFFERS",), deadline)
    third = inverse_offer_for(event, agent_id, start)
    print("a new window rescinded the outstanding inverse offer and asked "
          "again")
    master.call(sub, {"type": "DECLINE_INVERSE_OFFERS",
                      "decline_inverse_offers": {
                          "inverse_offer_ids": [third["id"]]}})
    while not answers(args.master):
        expect(time.monotonic() < deadline, "the decline never showed")
        time.sleep(0.05)
    got = answers(args.master)
    expect(got[0]["status"] == "DECLINE",
           f"GET_MAINTENANCE_STATUS does not show the DECLINE: {got}")
    print("DECLINE_INVERSE_OFFERS shows in GET_MAINTENANCE_STATUS")

    status, text = operator(args.master, {
        "type": "UPDATE_MAINTENANCE_SCHEDULE",
        "update_maintenance_schedule": {"schedule": {}}})
    expect(status == 200, f"clearing the schedule answered {status}: {text}")
    master.call(sub, {"type": "TEARDOWN"})
    print(f"ok: inverse offers asked, accepted, rescinded and declined for "
          f"{len(launched)} tasks' agent")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", required=True)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120)
    return run_script(run, parser)


if __name__ == "__main__":
    sys.exit(main())
