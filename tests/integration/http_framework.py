#!/usr/bin/env python3
"""A framework that speaks only the Mesos v1 scheduler HTTP API.

Written from Mesos' published documentation of the API (scheduler-http-api),
with nothing but Python's standard library, the way a framework author in
any language would: it subscribes, reads the RecordIO event stream, launches
tasks from offers, acknowledges every status update and tears down. Before
it launches, it checks that the master refuses bad requests with Mesos'
status codes and changes nothing.

Usage: http_framework.py --master=HOST:PORT [--tasks=N] [--command=CMD]
Prints one line per finding and "ok: ..." last; exits non-zero on any
failure.
"""
import argparse
import http.client
import json
import sys
import time

TASK_CPUS = 0.1
TASK_MEM = 16.0
TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST",
            "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR"}


class Failure(Exception):
    pass


def expect(condition, what):
    if not condition:
        raise Failure(what)


class Subscription:
    """One SUBSCRIBE connection: the stream id and a RecordIO reader."""

    def __init__(self, master, name, timeout, role="*"):
        host, port = master.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.framework_info = {
            "user": "root", "name": name, "roles": [role],
            "capabilities": [{"type": "MULTI_ROLE"}], "failover_timeout": 0}
        body = {"type": "SUBSCRIBE",
                "subscribe": {"framework_info": self.framework_info}}
        self.conn.request("POST", "/api/v1/scheduler", json.dumps(body),
                          {"Content-Type": "application/json",
                           "Accept": "application/json"})
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            # Only a refusal has a body to read whole: a stream never ends.
            raise Failure(f"SUBSCRIBE answered {self.response.status}: "
                          f"{self.response.read()!r}")
        expect(self.response.getheader("Content-Type") == "application/json",
               "the stream's Content-Type is not application/json")
        self.stream_id = self.response.getheader("Mesos-Stream-Id")
        expect(self.stream_id, "SUBSCRIBE answered without Mesos-Stream-Id")
        first = self.next_event()
        expect(first is not None and first["type"] == "SUBSCRIBED",
               f"the first event is not SUBSCRIBED: {first}")
        self.framework_id = first["subscribed"]["framework_id"]["value"]
        self.framework_info["id"] = {"value": self.framework_id}
        self.heartbeat = first["subscribed"]["heartbeat_interval_seconds"]

    def next_event(self):
        """The next event, or None once the master has closed the stream."""
        length = self.response.readline()
        if not length:
            return None
        expect(length.endswith(b"\n") and length[:-1].isdigit(),
               f"a RecordIO length is not decimal digits: {length!r}")
        size = int(length)
        record = self.response.read(size)
        expect(len(record) == size, "the stream ended inside a record")
        return json.loads(record)


class Master:
    """Non-subscribe calls, on their own keep-alive connection."""

    def __init__(self, master, timeout):
        host, port = master.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def post(self, body, headers):
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        self.conn.request("POST", "/api/v1/scheduler", body, headers)
        response = self.conn.getresponse()
        return response.status, response.read().decode()

    def call(self, sub, call, expected=202):
        """Makes `call` for `sub`'s framework; returns the answer's body."""
        call["framework_id"] = {"value": sub.framework_id}
        status, text = self.post(call, {"Content-Type": "application/json",
                                        "Mesos-Stream-Id": sub.stream_id})
        expect(status == expected,
               f"{call['type']} answered {status} (not {expected}): {text}")
        return text


def check_framework_calls(address, master, sub):
    """UPDATE_FRAMEWORK answers 200 once the master has the new info, and
    400 naming the field for a change Mesos does not allow; REQUEST is
    taken (and, as in Mesos, has no effect); ACKNOWLEDGE_OPERATION_STATUS
    needs a UUID; RECONCILE_OPERATIONS is taken (its answer, an
    UPDATE_OPERATION_STATUS, comes on the stream)."""
    renamed = dict(sub.framework_info, name=sub.framework_info["name"] + "+")
    master.call(sub, {"type": "UPDATE_FRAMEWORK", "update_framework": {
        "framework_info": renamed}}, expected=200)
    status, text = operator(address, {"type": "GET_FRAMEWORKS"})
    expect(status == 200, f"GET_FRAMEWORKS answered {status}: {text}")
    names = [f["framework_info"]["name"]
             for f in json.loads(text)["get_frameworks"]["frameworks"]
             if f["framework_info"]["id"]["value"] == sub.framework_id]
    expect(names == [renamed["name"]], f"not renamed: {names}")
    text = master.call(sub, {"type": "UPDATE_FRAMEWORK", "update_framework": {
        "framework_info": dict(renamed, user="nobody")}}, expected=400)
    expect("framework_info.user" in text,
           f"a changed user refused without naming the field: {text}")
    text = master.call(sub, {"type": "UPDATE_FRAMEWORK", "update_framework": {
        "framework_info": dict(renamed, id={"value": "other"})}},
        expected=400)
    expect("differs from 'update_framework.framework_info.id'" in text,
           f"another framework's id refused without saying so: {text}")
    master.call(sub, {"type": "REQUEST", "request": {"requests": [
        {"resources": [{"name": "cpus", "type": "SCALAR",
                        "scalar": {"value": 1}}]}]}})
    sub.framework_info = renamed
    text = master.call(sub, {
        "type": "ACKNOWLEDGE_OPERATION_STATUS",
        "acknowledge_operation_status": {
            "operation_id": {"value": "op-1"}, "uuid": "bm90LWEtdXVpZA=="}},
        expected=400)
    expect("is not a valid UUID" in text,
           f"a bad operation status uuid refused without saying so: {text}")
    master.call(sub, {"type": "RECONCILE_OPERATIONS", "reconcile_operations": {
        "operations": [{"operation_id": {"value": "op-1"},
                        "agent_id": {"value": "no-such-agent"}}]}})
    print("UPDATE_FRAMEWORK renamed the framework (200), refused a new user "
          "and another id (400); REQUEST and RECONCILE_OPERATIONS taken "
          "(202); a bad operation status UUID refused (400)")


def check_operation_feedback(address, master, timeout):
    """A RESERVE with an id: the agent reports it OPERATION_FINISHED, the
    master lists it (GET_OPERATIONS) until the framework acknowledges that
    status, then forgets it. An invalid operation with an id is answered
    OPERATION_ERROR."""
    sub = Subscription(address, "http-framework-ops", timeout, role="ops")
    deadline = time.monotonic() + timeout
    finished, error, accepted = None, None, False
    while finished is None or error is None:
        expect(time.monotonic() < deadline, "no operation status in time")
        event = sub.next_event()
        expect(event is not None, "the master closed the event stream")
        if event["type"] == "OFFERS":
            offers = event["offers"]["offers"]
            if accepted:  # one RESERVE only
                master.call(sub, {"type": "DECLINE", "decline": {
                    "offer_ids": [o["id"] for o in offers]}})
                continue
            accepted = True
            offer = offers[0]
            cpus = next(r for r in offer["resources"] if r["name"] == "cpus")
            reserved = dict(cpus, scalar={"value": 0.5}, reservations=[
                {"type": "DYNAMIC", "role": "ops"}])
            foreign = dict(reserved, reservations=[
                {"type": "DYNAMIC", "role": "elsewhere"}])
            master.call(sub, {"type": "ACCEPT", "accept": {
                "offer_ids": [offer["id"]],
                "operations": [
                    {"type": "RESERVE", "id": {"value": "reserve-1"},
                     "reserve": {"resources": [reserved]}},
                    {"type": "UNRESERVE", "id": {"value": "unreserve-1"},
                     "unreserve": {"resources": [foreign]}}]}})
            if len(offers) > 1:
                master.call(sub, {"type": "DECLINE", "decline": {
                    "offer_ids": [o["id"] for o in offers[1:]]}})
        elif event["type"] == "UPDATE_OPERATION_STATUS":
            status = event["update_operation_status"]["status"]
            if status["operation_id"]["value"] == "reserve-1":
                finished = status
            elif status["operation_id"]["value"] == "unreserve-1":
                error = status
    expect(finished["state"] == "OPERATION_FINISHED" and "uuid" in finished,
           f"the RESERVE's status: {finished}")
    expect(error["state"] == "OPERATION_ERROR" and "uuid" not in error,
           f"the invalid UNRESERVE's status: {error}")

    def listed():
        status, text = operator(address, {"type": "GET_OPERATIONS"})
        expect(status == 200, f"GET_OPERATIONS answered {status}: {text}")
        return json.loads(text)["get_operations"].get("operations", [])
    ops = listed()
    expect(len(ops) == 1 and ops[0]["info"]["id"]["value"] == "reserve-1",
           f"GET_OPERATIONS before the acknowledgement: {ops}")
    master.call(sub, {
        "type": "ACKNOWLEDGE_OPERATION_STATUS",
        "acknowledge_operation_status": {
            "agent_id": finished["agent_id"], "uuid": finished["uuid"]["value"],
            "operation_id": finished["operation_id"]}})
    while listed():
        expect(time.monotonic() < deadline,
               "the acknowledged operation is still listed")
        time.sleep(0.05)
    master.call(sub, {"type": "TEARDOWN"})
    while sub.next_event() is not None:
        pass
    print("RESERVE with an id: OPERATION_FINISHED from the agent, listed "
          "until acknowledged; an invalid UNRESERVE: OPERATION_ERROR")


def check_refusals(master, a, b):
    """Bad requests get Mesos' status codes and a body that says why."""
    json_type = {"Content-Type": "application/json"}
    revive = {"type": "REVIVE", "framework_id": {"value": a.framework_id}}
    cases = [
        ("malformed JSON", "{\"type\": ", json_type, 400, "JSON"),
        ("an unknown call type", {"type": "NO_SUCH_CALL",
                                  "framework_id": {"value": a.framework_id}},
         json_type, 400, "type"),
        ("a call without a type", {"framework_id": {"value": a.framework_id}},
         json_type, 400, "'type'"),
        ("a call without framework_id", {"type": "REVIVE"},
         dict(json_type, **{"Mesos-Stream-Id": a.stream_id}), 400,
         "framework_id"),
        ("ACCEPT without 'accept'", {"type": "ACCEPT",
                                     "framework_id": {"value": a.framework_id}},
         dict(json_type, **{"Mesos-Stream-Id": a.stream_id}), 400, "'accept'"),
        ("a missing Mesos-Stream-Id", revive, json_type, 400,
         "Mesos-Stream-Id"),
        ("another framework's stream id", revive,
         dict(json_type, **{"Mesos-Stream-Id": b.stream_id}), 400,
         "didn't match"),
        ("an unknown framework",
         {"type": "REVIVE", "framework_id": {"value": "no-such-framework"}},
         dict(json_type, **{"Mesos-Stream-Id": a.stream_id}), 400,
         "cannot be found"),
        ("SUBSCRIBE with a stream id",
         {"type": "SUBSCRIBE", "subscribe": {"framework_info": {
             "user": "root", "name": "x"}}},
         dict(json_type, **{"Mesos-Stream-Id": a.stream_id}), 400,
         "should not include"),
        ("SUBSCRIBE accepting neither JSON nor protobuf",
         {"type": "SUBSCRIBE", "subscribe": {"framework_info": {
             "user": "root", "name": "x"}}},
         dict(json_type, Accept="text/html"), 406, "Accept"),
        ("a body that is neither JSON nor protobuf", "type=REVIVE",
         {"Content-Type": "text/plain"}, 415, "Content-Type"),
    ]
    for what, body, headers, status, needle in cases:
        got, text = master.post(body, headers)
        expect(got == status and needle in text,
               f"{what}: expected {status} mentioning {needle!r}, "
               f"got {got}: {text}")
        print(f"refused {what}: {got} {text}")


def scalar(offer, name):
    return sum(r.get("scalar", {}).get("value", 0)
               for r in offer.get("resources", []) if r["name"] == name)


def fill_offer(offer, to_launch, command, **extra):
    """Tasks (TASK_CPUS, TASK_MEM each, running `command`, with `extra`
    TaskInfo fields) for as many ids of `to_launch` as `offer` holds; the
    ids used are taken off the list."""
    cpus, mem = scalar(offer, "cpus"), scalar(offer, "mem")
    tasks = []
    while to_launch and cpus >= TASK_CPUS - 1e-9 and mem >= TASK_MEM:
        task_id = to_launch.pop()
        cpus -= TASK_CPUS
        mem -= TASK_MEM
        tasks.append(dict({
            "name": task_id, "task_id": {"value": task_id},
            "agent_id": offer["agent_id"],
            "resources": [
                {"name": "cpus", "type": "SCALAR",
                 "scalar": {"value": TASK_CPUS}},
                {"name": "mem", "type": "SCALAR",
                 "scalar": {"value": TASK_MEM}}],
            "command": {"value": command}}, **extra))
    return tasks


def operator(address, body, timeout=30):
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    conn.request("POST", "/api/v1", json.dumps(body),
                 {"Content-Type": "application/json",
                  "Accept": "application/json"})
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text


def agent_entry(address, agent_id):
    status, text = operator(address, {"type": "GET_AGENTS"})
    expect(status == 200, f"GET_AGENTS answered {status}: {text}")
    for agent in json.loads(text)["get_agents"].get("agents", []):
        if agent["agent_info"]["id"]["value"] == agent_id:
            return agent
    raise Failure(f"agent {agent_id} is not registered")


def launch_all(sub, master, count, deadline, command, **extra):
    """Launches `count` tasks running `command` (with `extra` TaskInfo
    fields) from offers and waits until they run; returns (the agent id of
    the last launch, the task ids). Offers left over are declined."""
    to_launch = [f"long-{i}" for i in range(count)]
    launched, running, agent_id = set(), set(), None
    while len(running) < count:
        expect(time.monotonic() < deadline, "tasks did not start in time")
        event = sub.next_event()
        expect(event is not None, "the master closed the event stream")
        if event["type"] == "OFFERS":
            for offer in event["offers"]["offers"]:
                tasks = fill_offer(offer, to_launch, command, **extra)
                launched.update(t["task_id"]["value"] for t in tasks)
                if tasks:
                    agent_id = offer["agent_id"]["value"]
                    master.call(sub, {"type": "ACCEPT", "accept": {
                        "offer_ids": [offer["id"]],
                        "operations": [{"type": "LAUNCH",
                                        "launch": {"task_infos": tasks}}]}})
                else:
                    master.call(sub, {"type": "DECLINE", "decline": {
                        "offer_ids": [offer["id"]]}})
        elif event["type"] == "UPDATE":
            status = event["update"]["status"]
            task_id = status["task_id"]["value"]
            expect(status["state"] in ("TASK_STARTING", "TASK_RUNNING"),
                   f"{task_id} is {status['state']} before it ran: "
                   f"{status.get('message', '')}")
            if status["state"] == "TASK_RUNNING":
                running.add(task_id)
            acknowledge(sub, master, status)
    return agent_id, launched


def acknowledge(sub, master, status):
    if "uuid" in status:
        master.call(sub, {"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"],
            "uuid": status["uuid"]}})


def run(args):
    deadline = time.monotonic() + args.timeout
    master = Master(args.master, args.timeout)
    # First, while no other framework holds the agent's offer.
    if args.operations:
        check_operation_feedback(args.master, master, args.timeout)
    a = Subscription(args.master, "http-framework", args.timeout)
    print(f"subscribed framework {a.framework_id} stream {a.stream_id} "
          f"heartbeat {a.heartbeat}s")
    # A second framework, to have another framework's stream id at hand.
    b = Subscription(args.master, "http-framework-b", args.timeout)
    check_refusals(master, a, b)
    check_framework_calls(args.master, master, a)
    master.call(b, {"type": "TEARDOWN"})
    while b.next_event() is not None:
        pass  # events sent before the teardown, then the end of the stream
    print("framework b torn down; its stream ended")

    to_launch = [f"task-{i}" for i in range(args.tasks)]
    # Updates are delivered at least once: an update the agent sent again
    # before our acknowledgement reached it comes twice, and each copy is
    # acknowledged; the count is of distinct updates.
    launched, states, acknowledged, repeats = set(), {}, set(), 0
    reconciled = None  # the answer to RECONCILE_OPERATIONS
    while time.monotonic() < deadline:
        if len(states) == args.tasks and all(
                s in TERMINAL for s in states.values()):
            break
        event = a.next_event()
        expect(event is not None, "the master closed the event stream")
        kind = event["type"]
        if kind == "OFFERS":
            for offer in event["offers"]["offers"]:
                tasks = fill_offer(offer, to_launch, args.command)
                launched.update(t["task_id"]["value"] for t in tasks)
                if tasks:
                    master.call(a, {"type": "ACCEPT", "accept": {
                        "offer_ids": [offer["id"]],
                        "operations": [{"type": "LAUNCH",
                                        "launch": {"task_infos": tasks}}],
                        "filters": {"refuse_seconds": 0.1}}})
                else:
                    master.call(a, {"type": "DECLINE", "decline": {
                        "offer_ids": [offer["id"]],
                        "filters": {"refuse_seconds": 1}}})
        elif kind == "UPDATE":
            status = event["update"]["status"]
            task_id = status["task_id"]["value"]
            expect(task_id in launched, f"an update for unknown {task_id}")
            if status.get("uuid") in acknowledged:
                repeats += 1  # a copy of one we saw: acknowledged again
                acknowledge(a, master, status)
                continue
            expect(states.get(task_id) not in TERMINAL,
                   f"{task_id} got {status['state']} after "
                   f"{states.get(task_id)}")
            states[task_id] = status["state"]
            if status["state"] in TERMINAL and status["state"] != \
                    "TASK_FINISHED":
                raise Failure(f"{task_id} ended {status['state']}: "
                              f"{status.get('message', '')}")
            if "uuid" in status:
                acknowledge(a, master, status)
                acknowledged.add(status["uuid"])
        elif kind == "UPDATE_OPERATION_STATUS":
            reconciled = event["update_operation_status"]["status"]
        elif kind == "ERROR":
            raise Failure(f"ERROR event: {event['error']['message']}")
    expect(reconciled is not None and
           reconciled["state"] == "OPERATION_UNKNOWN" and
           reconciled["operation_id"]["value"] == "op-1",
           f"RECONCILE_OPERATIONS answered {reconciled}")
    finished = sum(1 for s in states.values() if s == "TASK_FINISHED")
    expect(finished == args.tasks,
           f"only {finished} of {args.tasks} tasks finished in time")

    master.call(a, {"type": "TEARDOWN"})
    while a.next_event() is not None:
        pass
    # Once torn down the framework is gone: calls for it are refused, never
    # accepted. (The master may hear of the teardown a moment after the
    # stream ended: until then it calls the framework not connected, 403.)
    deadline = time.time() + 2
    while True:
        got, text = master.post(
            {"type": "REVIVE", "framework_id": {"value": a.framework_id}},
            {"Content-Type": "application/json",
             "Mesos-Stream-Id": a.stream_id})
        expect(got != 202, f"a call after TEARDOWN was accepted: {text}")
        if got != 403 or time.time() > deadline:
            break
        time.sleep(0.05)
    expect(got == 400 and "cannot be found" in text,
           f"a call after TEARDOWN answered {got}: {text}")
    if repeats:
        print(f"{repeats} update(s) came again and were acknowledged again")
    print(f"ok: launched {len(launched)}, finished {finished}, "
          f"acknowledged {len(acknowledged)}, torn down")


def run_script(run, parser):
    """Runs `run` with the parsed arguments: 0, or 1 after saying why."""
    args = parser.parse_args()
    try:
        run(args)
    except (Failure, OSError, ValueError, KeyError) as e:
        print(f"failed: {e}", file=sys.stderr)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", required=True)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--command", default="true")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--operations", action="store_true",
                        help="first reserve with operation feedback (the "
                             "reservation stays, to role ops)")
    return run_script(run, parser)


if __name__ == "__main__":
    sys.exit(main())
