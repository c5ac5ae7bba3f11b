"""Checks the server with the official `openai` Python client, as a real client would use it.

Usage: python3 check_openai_client.py BASE_URL API_KEY MODEL
  BASE_URL  e.g. http://127.0.0.1:8080/v1
Exits 0 and prints "openai client checks passed" when every check holds.
"""
import sys

import openai


def main() -> None:
    base_url, api_key, model = sys.argv[1], sys.argv[2], sys.argv[3]
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)

    # Models list.
    ids = [m.id for m in client.models.list().data]
    assert model in ids, f"{model} not in {ids}"
    assert client.models.retrieve(model).id == model

    # Non-streamed completion, greedy, with logprobs.
    completion = client.completions.create(
        model=model, prompt="Once upon a time", max_tokens=5, temperature=0, logprobs=2
    )
    choice = completion.choices[0]
    assert completion.object == "text_completion"
    assert choice.finish_reason == "length", choice.finish_reason
    assert completion.usage.completion_tokens == 5, completion.usage
    assert completion.usage.prompt_tokens + 5 == completion.usage.total_tokens
    assert len(choice.logprobs.tokens) == 5 and len(choice.logprobs.top_logprobs) == 5
    text = choice.text

    # Streamed: the same greedy text, chunk by chunk, with usage at the end.
    stream = client.completions.create(
        model=model, prompt="Once upon a time", max_tokens=5, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            pieces.append(c.text)
            finish = c.finish_reason or finish
    assert "".join(pieces) == text, (pieces, text)
    assert finish == "length", finish
    assert usage is not None and usage.completion_tokens == 5, usage

    # Several prompts, n, stop, seed and the top_k extension through extra_body.
    many = client.completions.create(
        model=model, prompt=["Once upon a time", "The sea remembers"], n=2, max_tokens=4, seed=11,
        stop=["\n\n"], extra_body={"top_k": 40},
    )
    assert sorted(c.index for c in many.choices) == [0, 1, 2, 3]

    # Chat: a conversation, greedy, with logprobs.
    messages = [
        {"role": "system", "content": "You tell short stories."},
        {"role": "user", "content": [{"type": "text", "text": "Once upon a time"}]},
    ]
    chat = client.chat.completions.create(
        model=model, messages=messages, max_completion_tokens=5, temperature=0, logprobs=True, top_logprobs=2
    )
    assert chat.object == "chat.completion", chat.object
    message = chat.choices[0].message
    assert message.role == "assistant" and isinstance(message.content, str), message
    assert chat.choices[0].finish_reason in ("length", "stop"), chat.choices[0].finish_reason
    assert 0 < chat.usage.completion_tokens <= 5 and chat.usage.prompt_tokens > 0, chat.usage
    assert len(chat.choices[0].logprobs.content) == chat.usage.completion_tokens
    assert all(len(entry.top_logprobs) <= 2 for entry in chat.choices[0].logprobs.content)

    # Chat streamed: role first, the same text, finish_reason last, then usage with no choices.
    stream = client.chat.completions.create(
        model=model, messages=messages, max_completion_tokens=5, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
    pieces, roles, finish, usage = [], [], None, None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk", chunk.object
        if chunk.usage is not None:
            assert chunk.choices == [], chunk
            usage = chunk.usage
        for c in chunk.choices:
            assert finish is None, "a chunk after finish_reason"
            if c.delta.role:
                roles.append(c.delta.role)
            pieces.append(c.delta.content or "")
            finish = c.finish_reason
    assert roles == ["assistant"], roles
    assert "".join(pieces) == message.content, (pieces, message.content)
    assert finish == chat.choices[0].finish_reason, finish
    assert usage is not None and usage.total_tokens == chat.usage.total_tokens, usage

    # Chat with n, a seed and stop: one choice per index, reproducible.
    def sampled():
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Tell me about the sea"}], n=3, max_tokens=4,
            seed=3, stop=["\n\n"], presence_penalty=0.5, frequency_penalty=0.5, top_p=0.9,
        )
        assert sorted(c.index for c in reply.choices) == [0, 1, 2]
        return [c.message.content for c in reply.choices]
    assert sampled() == sampled()

    # Errors come back as the client's typed exceptions.
    try:
        client.chat.completions.create(model=model, messages=[{"role": "tool", "content": "x", "tool_call_id": "1"}])
        raise AssertionError("tool message accepted")
    except openai.BadRequestError as error:
        assert "role" in str(error), str(error)
    try:
        client.completions.create(model="no-such-model", prompt="x")
        raise AssertionError("unknown model accepted")
    except openai.NotFoundError as error:
        assert error.status_code == 404
    try:
        client.completions.create(model=model, prompt="x", temperature=-1)
        raise AssertionError("negative temperature accepted")
    except openai.BadRequestError as error:
        assert "temperature" in str(error), str(error)
    try:
        openai.OpenAI(base_url=base_url, api_key="wrong-key", max_retries=0).models.list()
        raise AssertionError("wrong key accepted")
    except openai.AuthenticationError as error:
        assert error.status_code == 401

    print("openai client checks passed")


if __name__ == "__main__":
    main()
