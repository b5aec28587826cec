"""A tiny OpenAI upstream on 127.0.0.1 for SDK tests: fixed Chat Completions and Responses
answers with full usage (cached and reasoning tokens), so instrumentations record known numbers.
Not the gateway's mock: just enough for the Langfuse and OpenLLMetry OpenAI integrations."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Dated answers, as OpenAI gives them: the request names the family, the answer the snapshot.
SNAPSHOTS = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}

CHAT_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 100, "audio_tokens": 0,
        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
    },
}
RESPONSES_USAGE = {
    "input_tokens": 800,
    "output_tokens": 200,
    "total_tokens": 1000,
    "input_tokens_details": {"cached_tokens": 500},
    "output_tokens_details": {"reasoning_tokens": 50},
}
ANSWER = "Paris."


def chat_completion(model):
    return {
        "id": "chatcmpl-mock-1", "object": "chat.completion", "created": int(time.time()),
        "model": SNAPSHOTS.get(model, model), "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": ANSWER, "refusal": None}}],
        "usage": CHAT_USAGE,
    }


def response(model):
    return {
        "id": "resp_mock_1", "object": "response", "created_at": int(time.time()),
        "status": "completed", "model": SNAPSHOTS.get(model, model), "output": [{
            "type": "message", "id": "msg_mock_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
        }],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "usage": RESPONSES_USAGE,
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.requests.append((self.path, body))
        if self.path.endswith("/chat/completions"):
            out = chat_completion(body.get("model", ""))
        elif self.path.endswith("/responses"):
            out = response(body.get("model", ""))
        else:
            self.send_error(404)
            return
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class MockOpenAI:
    """`with MockOpenAI() as m:` serves on `m.base_url` (`http://127.0.0.1:PORT/v1`)."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def requests(self):
        return self.server.requests

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
