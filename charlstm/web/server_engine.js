// The page's server engine (serve.py): the models come from GET models, the text from
// POST generate/stream as Server-Sent Events, read with fetch so that Stop (an AbortSignal)
// closes the connection, which frees the stream's place in the server's batch.
"use strict";

(function () {
  async function errorOf(response) {
    try {
      const body = await response.json();
      if (body && body.error) return new Error(body.error);
    } catch (ignored) { /* not JSON: say the status */ }
    return new Error(`the server answered ${response.status} ${response.statusText}`);
  }

  // Calls handle(name, data) for each complete event in text; returns what is left over.
  function parseEvents(text, handle) {
    let end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) handle(name, JSON.parse(data.join("\n")));
    }
    return text;
  }

  // POST a request as JSON: the response once it is ok, null when Stop aborted it first;
  // an Error with the server's words (or why it cannot be reached) otherwise.
  async function post(path, request, signal) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(request), signal,
      });
    } catch (error) {
      if (signal.aborted) return null;
      throw new Error(`cannot reach the server: ${error.message}`);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  // Items (issue 31): the server answers them whole, by POST generate, not as a stream
  // (an item's length is not known in advance); one a line, as generate.py --items prints.
  async function items(request, { onText, onSeed, onPrime, signal }) {
    const response = await post("generate", request, signal);
    if (response === null) return;
    const reply = await response.json();
    onSeed(reply.seed);
    onPrime("\n");
    onText(reply.items.map((item) => item + "\n").join(""));
  }

  window.charlstmEngine = {
    name: "server",

    async models() {
      let response;
      try {
        response = await fetch("models");
      } catch (error) {
        throw new Error(`cannot reach the server: ${error.message}`);
      }
      if (!response.ok) throw await errorOf(response);
      return (await response.json()).models;
    },

    async generate(request, { onText, onSeed, onPrime, signal }) {
      if (request.items) return items(request, { onText, onSeed, onPrime, signal });
      const response = await post("generate/stream", request, signal);
      if (response === null) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      let failure = null;
      const handle = (name, data) => {
        if (name === "start") {
          onSeed(data.seed);
          // The text the generation continues; a server older than "prime" in its start
          // event leaves the page with the typed prime (null: a seed window it cannot show).
          const typed = request.prime === undefined ? null : request.prime;
          onPrime(data.prime !== undefined ? data.prime : typed);
        }
        else if (name === "error") failure = new Error(data.error);
        else if (name === "message") onText(data.text !== undefined ? data.text : data.texts[0]);
      };
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pending = parseEvents(pending + decoder.decode(value, { stream: true }), handle);
          if (failure) throw failure;
        }
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
    },
  };
})();
