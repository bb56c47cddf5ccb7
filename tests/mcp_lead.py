"""The lead scenario through the MCP server alone, with the official MCP
Python SDK (PyPI `mcp`): a lead takes the lead, imports a plan, dispatches
specialists, reads their failure, retries, follows the dependent work,
looks at the conflict radar, lands the branches, assigns a task to a
helper, and stops a daemon it spawned.

Usage: python mcp_lead.py <git-orchestrate binary> <repository> <fix file>
Prints one JSON object with what it made; any failed check raises.
"""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters

BIN, REPO, FIX = sys.argv[1], sys.argv[2], sys.argv[3]
OVER = ("exited", "failed", "stopped", "timed_out")


def server(*flags):
    return StdioServerParameters(command=BIN, args=[*flags, "mcp"], cwd=REPO, env=dict(os.environ))


async def call(client, tool, args=None, error=False):
    result = await client.call_tool(tool, args or {})
    assert result.is_error == error, f"{tool} {args}: is_error={result.is_error}: {result.content}"
    value = result.structured_content
    assert isinstance(value, dict), f"{tool}: not an object: {result}"
    return value


async def wait_over(lead, name):
    for _ in range(600):
        agents = (await call(lead, "ps"))["agents"]
        mine = [a for a in agents if a["session"] == name]
        if mine and mine[0]["state"] in OVER:
            return mine[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"agent {name} never ended: {agents}")


PLAN = """# Ship it
- [ ] Build the service
  key: build
  role: backend
- [ ] Document it
  key: docs
  role: docs
  after: build
"""


async def main():
    async with Client(server(), mode="legacy", read_timeout_seconds=120) as lead, \
            Client(server("--session", "helper"), mode="2026-07-28", read_timeout_seconds=120) as helper:
        await call(lead, "session_start", {"name": "lead", "no_worktree": True})
        assert (await call(lead, "lead", {"action": "take"}))["lead"] == "lead"
        await call(helper, "session_start", {"name": "helper", "no_worktree": True})
        refused = await call(helper, "lead", {"action": "take"}, error=True)
        assert "lead holds the lead" in refused["error"]["message"], refused

        imported = await call(lead, "task_import", {"plan": PLAN})
        ids = {t["key"]: t["id"] for t in imported["tasks"]}
        assert list(ids) == ["build", "docs"], imported
        bad = await call(lead, "task_import", {"plan": '{"tasks":[{"key":"a","title":"A","after":["zz"]}]}'}, error=True)
        assert bad["error"]["kind"] == "invalid" and "after 'zz'" in bad["error"]["message"], bad

        # First pass: the build starts; its docs wait on it.
        events = (await call(lead, "dispatch", {"max": 2}))["events"]
        spawned = [e for e in events if e["event"] == "spawned"]
        assert [e["task"] for e in spawned] == [ids["build"]], events
        builder = spawned[0]["session"]
        assert (await wait_over(lead, builder))["state"] == "failed"
        tail = await call(lead, "logs", {"name": builder, "lines": 5})
        assert "failed" in tail["text"], tail
        news = (await call(lead, "inbox", {"wait_seconds": 30}))["messages"]
        assert any(f"{ids['build']} failed" in m["subject"] for m in news), news

        # The lead fixes what was missing and retries; the docs follow.
        open(FIX, "w").close()
        assert (await call(lead, "task_retry", {"id": ids["build"], "note": "tool installed"}))["status"] == "open"
        events = (await call(lead, "dispatch", {"max": 2}))["events"]
        assert [e["task"] for e in events if e["event"] == "spawned"] == [ids["build"]], events
        assert (await wait_over(lead, builder))["state"] == "exited"
        events = (await call(lead, "dispatch", {"max": 2}))["events"]
        spawned = [e for e in events if e["event"] == "spawned"]
        assert [e["task"] for e in spawned] == [ids["docs"]], events
        writer = spawned[0]["session"]
        assert (await wait_over(lead, writer))["state"] == "exited"

        radar = await call(lead, "conflicts")
        assert "overlaps" in radar, radar
        outcomes = (await call(lead, "land", {"sessions": [builder, writer]}))["outcomes"]
        assert [o["session"] for o in outcomes] == [builder, writer], outcomes

        # A task for the helper, who finds it as its own.
        extra = (await call(lead, "task_add", {"title": "Tidy the README"}))["id"]
        assert (await call(lead, "task_assign", {"id": extra, "session": "helper"}))["assigned_to"] == "helper"
        mine = (await call(helper, "task_list", {"mine": True}))["tasks"]
        assert [t["id"] for t in mine] == [extra], mine

        # A daemon of the lead's own, stopped when no longer needed.
        await call(lead, "spawn", {"name": "monitor", "command": ["sleep", "300"]})
        stopped = (await call(lead, "stop", {"name": "monitor", "grace": "1s"}))["stopped"]
        assert [s["session"] for s in stopped] == ["monitor"], stopped
        await call(lead, "lead", {"action": "release"})

    print(json.dumps({"tasks": ids, "extra": extra, "builder": builder, "writer": writer,
                      "landed": [o.get("status") for o in outcomes]}))


asyncio.run(main())
