"""Drives `git-orchestrate mcp` with the official MCP Python SDK (PyPI `mcp`),
as two agents would: alice over the `initialize` handshake (what Claude Code
speaks), bob over the stateless 2026-07-28 revision, and a third client in
alice's worktree that negotiates on its own (`auto`).

Usage: python mcp_client.py <git-orchestrate binary> <repository>
Prints one JSON object with the ids it made; any failed check raises.
"""

import asyncio
import json
import os
import sys

from mcp import Client, MCPError, StdioServerParameters

BIN, REPO = sys.argv[1], sys.argv[2]

TOOLS = sorted([
    "board", "check", "claim", "heartbeat", "inbox", "land_queue", "release", "send",
    "session_end", "session_start", "task_add", "task_claim", "task_done",
    "task_fail", "task_list", "task_note", "task_release", "task_show",
    # What a lead needs to coordinate (tests/mcp_lead.py drives them).
    "conflicts", "dispatch", "land", "lead", "logs", "ps", "spawn", "stop",
    "task_assign", "task_import", "task_retry",
])


def server(*flags, cwd=REPO):
    return StdioServerParameters(command=BIN, args=[*flags, "mcp"], cwd=cwd, env=dict(os.environ))


def connect(params, mode):
    return Client(params, mode=mode, read_timeout_seconds=120)


async def call(client, tool, args=None, error=False):
    """Calls a tool, checks isError is as expected, and returns its JSON
    object: the text, which is also the structured content (a list comes
    under a key, {"tasks": [...]}, since clients take only objects there)."""
    result = await client.call_tool(tool, args or {})
    assert result.is_error == error, f"{tool} {args}: is_error={result.is_error}: {result.content}"
    assert isinstance(result.structured_content, dict), f"{tool}: not an object: {result}"
    if error:
        assert result.structured_content["error"]["message"] == result.content[0].text
        return result.structured_content
    value = json.loads(result.content[0].text)
    assert value == result.structured_content, result
    return value


def refusal(result, kind="refused"):
    assert result["error"]["kind"] == kind, result
    return result["error"]["message"]


async def main():
    async with connect(server(), "legacy") as alice, connect(server("--session", "bob"), "2026-07-28") as bob:
        for client in (alice, bob):
            listed = await client.list_tools()
            assert sorted(t.name for t in listed.tools) == TOOLS, listed
            assert all(t.output_schema["type"] == "object" for t in listed.tools), listed

        # session_start makes alice's later calls act as alice.
        started = await call(alice, "session_start", {"name": "alice", "role": "backend"})
        worktree = started["worktree"]
        assert started["name"] == "alice" and os.path.isdir(worktree), started
        api = (await call(alice, "task_add", {"title": "Build the API", "priority": 1}))["id"]
        docs = (await call(alice, "task_add", {"title": "Write the docs", "after": [api]}))["id"]
        claimed = await call(alice, "task_claim", {"next": True})
        assert (claimed["id"], claimed["assignee"], claimed["status"]) == (api, "alice", "claimed"), claimed

        # bob (named by --session) cannot take it, and nothing else is ready.
        assert "alice" in refusal(await call(bob, "task_claim", {"id": api}, error=True))
        refusal(await call(bob, "task_claim", {"next": True}, error=True))
        refusal(await call(bob, "task_claim", {}, error=True), kind="invalid")

        # Path claims: alice's directory lease refuses bob's file inside it.
        await call(alice, "claim", {"paths": ["src/api/"], "reason": "reworking auth"})
        message = refusal(await call(bob, "claim", {"paths": ["src/api/login.rs"]}, error=True))
        assert "alice" in message and "reworking auth" in message, message
        checked = await call(bob, "check", {"paths": ["src/api/login.rs"]})
        assert checked["free"] is False and checked["conflicts"][0]["session"] == "alice", checked
        assert (await call(alice, "check", {"paths": ["src/api/login.rs"]}))["free"] is True
        claims = (await call(bob, "claim", {"paths": ["docs/"], "shared": True}))["claims"]
        assert [(c["path"], c["session"], c["mode"]) for c in claims] == [("docs/", "bob", "shared")]

        # A wait in progress does not hold up other calls, and bob's send wakes it.
        waiting = asyncio.create_task(alice.call_tool("inbox", {"wait_seconds": 60}))
        board = await call(alice, "board")
        assert [s["name"] for s in board["sessions"]] == ["alice", "bob"], board
        assert not waiting.done(), "the inbox returned before any message was sent"
        sent = await call(bob, "send", {"to": "alice", "subject": "login.rs?", "body": "may I?", "kind": "help"})
        woken = await waiting
        assert not woken.is_error, woken
        woke = json.loads(woken.content[0].text)
        assert woke == woken.structured_content, woken
        assert [(m["id"], m["from"], m["kind"]) for m in woke["messages"]] == [(sent["id"], "bob", "help")], woke
        assert await call(alice, "inbox") == {"messages": []}, "read messages are marked read"

        await call(alice, "send", {"to": "bob", "subject": "after the API", "reply_to": sent["id"]})
        peeked = (await call(bob, "inbox", {"peek": True}))["messages"]
        assert [(m["subject"], m["reply_to"]) for m in peeked] == [("after the API", sent["id"])], peeked
        assert len((await call(bob, "inbox"))["messages"]) == 1, "peek left it unread"
        waited = await call(bob, "inbox", {"wait_seconds": 1}, error=True)
        assert "no new message" in refusal(waited)
        assert (waited["error"]["reason"], waited["error"]["session"], waited["error"]["waited_secs"]) == (
            "no_new_message", "bob", 1), waited
        assert "call inbox again with wait_seconds" in waited["error"]["message"], waited
        refusal(await call(bob, "inbox", {"wait_seconds": 61}, error=True), kind="invalid")

        # Done: the docs task becomes ready and bob takes it.
        done = await call(alice, "task_done", {"id": api, "note": "merged"})
        assert done["status"] == "done", done
        assert (await call(bob, "task_claim", {"next": True}))["id"] == docs
        await call(bob, "task_note", {"id": docs, "text": "outline written", "progress": 30})
        mine = (await call(bob, "task_list", {"mine": True}))["tasks"]
        assert [(t["id"], t["progress"]) for t in mine] == [(docs, 30)], mine

        # Requests the server cannot route are JSON-RPC errors.
        try:
            await alice.call_tool("no_such_tool", {})
            raise AssertionError("an unknown tool was answered")
        except MCPError as e:
            assert e.code == -32602, e

        # A server started in alice's worktree acts as alice.
        async with connect(server(cwd=worktree), "auto") as here:
            beat = await call(here, "heartbeat", {"doing": "splitting handlers", "progress": 40})
            assert (beat["name"], beat["doing"], beat["progress"]) == ("alice", "splitting handlers", 40), beat

        ended = await call(alice, "session_end")
        assert (ended["name"], ended["status"], ended["released_claims"]) == ("alice", "ended", 1), ended
        # Ending its own session leaves the server acting as nobody in particular.
        refusal(await call(alice, "heartbeat", {}, error=True), kind="invalid")

    print(json.dumps({"api": api, "docs": docs, "message": sent["id"], "worktree": worktree}))


asyncio.run(main())
