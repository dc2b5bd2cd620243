// The page's controls, shared by both engines: serve.py's (text made on the server and
// streamed) and export --format web's (text made in this browser). An engine script, loaded
// before this one, defines window.charlstmEngine:
//   name: "server" or "browser"
//   models(): a promise of [{name, vocabulary_size, loss, settings}]
//   generate(request, {onText, onSeed, onPrime, signal}): a promise that settles when the
//     text is done or the signal aborts; it rejects with an Error whose message the page
//     shows. onPrime(text) gives the text the generation continues (the prime as the model
//     reads it, or the random seed window), shown before the text and set apart from it.
// document.body.dataset.state says where the page is (loading, idle, generating, done,
// stopped, error), for people's CSS and for the tests that wait on it.
"use strict";

(function () {
  const element = (id) => document.getElementById(id);
  const output = element("output");
  const message = element("message");
  const generateButton = element("generate");
  const stopButton = element("stop");
  let running = null; // the AbortController of the generation under way

  function setState(state, text) {
    document.body.dataset.state = state;
    if (text !== undefined) message.textContent = text;
    generateButton.disabled = state === "loading" || state === "generating" || !hasModels();
    stopButton.disabled = state !== "generating";
  }

  function hasModels() {
    return element("model").options.length > 0;
  }

  // Each box's default and lowest value as config.GENERATION declares them (the JSON block
  // that index.html is given), so that the page shows what generate.py would do. A max is
  // left to index.html: the seed's 2**32 - 1 as a max would have the browser refuse the form
  // with its own tooltip instead of the engine's message.
  function fillDefaults() {
    const block = document.getElementById("generation-options");
    for (const entry of JSON.parse(block.textContent)) {
      const box = document.getElementById(entry.name.replace("_", "-"));
      if (!box || box.type !== "number") continue;
      if (entry.default !== null) box.value = String(entry.default);
      const bounds = entry.bounds || {};
      const lowest = bounds.minimum ?? bounds.exclusiveMinimum;
      if (lowest !== undefined) box.min = String(lowest);
    }
  }

  // The page's settings (serving/pages.py's page_settings): "opening", the sampled setting
  // the page opens on (bench/page_setting.py chose it: greedy text from the bundled model
  // loops), and "tutorial", generate.py's greedy defaults. null leaves a box empty.
  const settings = JSON.parse(element("page-settings").textContent);

  function applySetting(setting) {
    for (const [name, value] of Object.entries(setting)) {
      element(name.replace("_", "-")).value = value === null ? "" : String(value);
    }
  }

  // A long prime is shown by its end: the part the text continues.
  const PRIME_SHOWN = 400;

  function showPrime(prime) {
    const shown = element("prime-shown");
    if (prime === null || prime === undefined) {
      shown.hidden = true;
      return;
    }
    const characters = Array.from(prime);
    element("prime-text").textContent = characters.length > PRIME_SHOWN ?
      "…" + characters.slice(-PRIME_SHOWN).join("") : prime;
    shown.hidden = false;
  }

  // An empty box is "not given" (null), as a missing flag is for generate.py.
  function number(id, parse) {
    const text = element(id).value.trim();
    if (text === "") return null;
    const value = parse(text);
    if (!Number.isFinite(value)) throw new Error(`${id}: '${text}' is not a number`);
    return value;
  }

  // The stop-at box: one stop string a line (empty lines ignored); "\n" in a line stands for
  // a line break, so "\n" alone stops at the end of a line. None given: null (left out).
  function stopStrings(text) {
    const strings = text.split("\n").filter((line) => line !== "")
      .map((line) => line.replaceAll("\\n", "\n"));
    return strings.length ? strings : null;
  }

  function readRequest() {
    const prime = element("prime").value;
    const request = {
      prime: prime === "" ? null : prime,
      length: number("length", Number),
      temperature: number("temperature", Number),
      top_k: number("top-k", Number),
      top_p: number("top-p", Number),
      seed: number("seed", Number),
      model: element("model").value || null,
      stop_at: stopStrings(element("stop-at").value),
      items: element("items-switch").hidden ? null : number("items", Number),
      new_only: element("items-switch").hidden || !element("new-only").checked ? null : true,
    };
    // Leave out what is not given, so the engine's defaults (generate.py's) apply.
    for (const key of Object.keys(request)) if (request[key] === null) delete request[key];
    return request;
  }

  function describe(model) {
    const loss = typeof model.loss === "number" ? `, loss ${model.loss.toFixed(4)}` : "";
    return `${model.name} (${model.vocabulary_size} characters${loss})`;
  }

  async function loadModels(engine) {
    const models = await engine.models();
    const picker = element("model");
    picker.replaceChildren();
    for (const model of models) {
      const option = document.createElement("option");
      option.value = model.name;
      option.textContent = describe(model);
      picker.appendChild(option);
    }
    if (models.length === 0) throw new Error("no model to generate with");
    // The items switch: only for a model trained in lines mode (issue 31).
    const lines = models.some((model) => model.documents_mode === "lines");
    element("items-switch").hidden = !lines;
    element("new-only-switch").hidden = !lines;
  }

  async function generate(engine) {
    let request;
    try {
      request = readRequest();
    } catch (error) {
      setState("error", error.message);
      return;
    }
    running = new AbortController();
    const signal = running.signal;
    output.textContent = "";
    showPrime(request.prime); // what the page knows now; the engine's onPrime says more
    const text = output.appendChild(document.createTextNode(""));
    element("seed-used").textContent = "…";
    element("rate").textContent = "";
    setState("generating", "generating…");
    const started = performance.now();
    let count = 0;
    try {
      await engine.generate(request, {
        signal,
        onSeed: (seed) => { element("seed-used").textContent = String(seed); },
        onPrime: showPrime,
        // After Stop, nothing more is shown, even from a slice the engine is finishing.
        onText: (chunk) => {
          if (signal.aborted) return;
          text.appendData(chunk);
          count += chunk.length;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      element("rate").textContent = seconds > 0 ?
        `${count} characters in ${seconds.toFixed(2)} s` : "";
      setState(signal.aborted ? "stopped" : "done", signal.aborted ? "stopped." : "done.");
    } catch (error) {
      if (signal.aborted) setState("stopped", "stopped.");
      else setState("error", error.message || String(error));
    } finally {
      running = null;
    }
  }

  async function start() {
    fillDefaults();
    applySetting(settings.opening);
    element("greedy").addEventListener("click", () => applySetting(settings.tutorial));
    element("sampled").addEventListener("click", () => applySetting(settings.opening));
    const engine = window.charlstmEngine;
    if (!engine) {
      setState("error", "this page has no engine: its script did not load");
      return;
    }
    element("engine").textContent = engine.name === "server" ?
      "on the server that sent this page" : "in this browser, with no server";
    try {
      await loadModels(engine);
      setState("idle", "");
    } catch (error) {
      setState("error", error.message || String(error));
      return;
    }
    element("controls").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!running) generate(engine);
    });
    stopButton.addEventListener("click", () => { if (running) running.abort(); });
  }

  start();
})();
