import HTTPServer

/// The playground served at `GET /`: one self-contained page (no CDN, no build step) that
/// uses only the public API: `/health`, `/v1/languages`, `/v1/stories` (streamed),
/// `/v1/translate`, with the API key the user types (kept in the browser's localStorage).
///
/// Query parameters fill the story form (`prompt`, `audience`, `language`, `model`) and
/// `run=1` submits it, so a link can open a ready story (and a headless browser can test it).
enum PlaygroundPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Octavo Infer playground</title>
        <style>
          :root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --accent: #3451b2; --paper: #fbfbfd; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--paper); }
          header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; border-bottom: 1px solid var(--line); background: #fff; }
          header h1 { font-size: 18px; margin: 0; }
          header .status { color: var(--muted); font-size: 13px; }
          header label { margin-left: auto; font-size: 13px; color: var(--muted); }
          main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 24px; padding: 24px; max-width: 1200px; margin: 0 auto; }
          section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; }
          section h2 { font-size: 15px; margin: 0 0 12px; }
          textarea, input, select, button { font: inherit; }
          textarea { width: 100%; min-height: 84px; padding: 8px; border: 1px solid var(--line); border-radius: 6px; resize: vertical; }
          .row { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-top: 10px; }
          select, input { padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
          button { padding: 6px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
          button:disabled { opacity: .5; cursor: default; }
          .paragraph { margin: 14px 0 0; padding-left: 12px; border-left: 3px solid var(--accent); white-space: pre-wrap; }
          .paragraph .original { color: var(--muted); font-size: 13px; margin-top: 4px; }
          .meta { color: var(--muted); font-size: 13px; margin-top: 10px; min-height: 1.5em; }
          .error { color: #b3261e; }
          table { width: 100%; border-collapse: collapse; font-size: 13px; }
          td, th { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); }
          @media (max-width: 800px) { main { grid-template-columns: 1fr; } }
        </style>
        </head>
        <body>
        <header>
          <h1>Octavo Infer</h1>
          <span class="status" id="status">connecting…</span>
          <label>API key <input id="key" type="password" size="18" placeholder="if the server needs one"></label>
        </header>
        <main>
          <div>
            <section>
              <h2>Write a story</h2>
              <form id="story-form">
                <textarea id="prompt" placeholder="### Prompt: Write a short story about a brave dragon.&#10;### Story:"></textarea>
                <div class="row">
                  <label>Model <select id="story-model"></select></label>
                  <label>Audience <select id="audience"><option>children</option><option>young</option><option selected>adult</option></select></label>
                  <label>Language <select id="language"><option value="eng_Latn">eng_Latn</option></select></label>
                  <button id="write" type="submit">Write</button>
                </div>
              </form>
              <div id="story"></div>
              <div class="meta" id="story-meta"></div>
            </section>
          </div>
          <div>
            <section>
              <h2>Translate</h2>
              <form id="translate-form">
                <textarea id="source-text" placeholder="Text in English"></textarea>
                <div class="row">
                  <label>To <select id="target"></select></label>
                  <button id="translate" type="submit">Translate</button>
                </div>
              </form>
              <div class="paragraph" id="translation" hidden></div>
              <div class="meta" id="translate-meta"></div>
            </section>
            <section style="margin-top: 24px">
              <h2>Models</h2>
              <table><thead><tr><th>name</th><th>kind</th><th>queue</th></tr></thead><tbody id="models"></tbody></table>
              <div class="meta" id="speed"></div>
            </section>
          </div>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const keyInput = $("key");
        keyInput.value = localStorage.getItem("octavo-api-key") || "";
        keyInput.addEventListener("change", () => { localStorage.setItem("octavo-api-key", keyInput.value); refresh(); });

        function headers() {
          const h = { "Content-Type": "application/json" };
          if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
          return h;
        }

        async function apiError(response) {
          try {
            const body = await response.json();
            return (body.error && (body.error.message || body.error)) || response.statusText;
          } catch (e) { return response.status + " " + response.statusText; }
        }

        function fill(select, values, selected) {
          select.replaceChildren(...values.map((v) => { const o = new Option(v, v); o.selected = v === selected; return o; }));
        }

        async function refresh() {
          try {
            const health = await (await fetch("/health")).json();
            $("status").textContent = health.status + " · " + health.models.length + " model(s)";
            $("models").replaceChildren(...health.models.map((m) => {
              const row = document.createElement("tr");
              for (const v of [m.name, m.kind, m.queue_depth]) { const td = document.createElement("td"); td.textContent = v; row.append(td); }
              return row;
            }));
            const generators = health.models.filter((m) => m.kind === "generation").map((m) => m.name);
            fill($("story-model"), generators, new URLSearchParams(location.search).get("model") || generators[0]);
            if (health.models.some((m) => m.kind === "translation")) {
              const response = await fetch("/v1/languages", { headers: headers() });
              if (response.ok) {
                const codes = (await response.json()).languages.map((l) => (typeof l === "string" ? l : l.code)).sort();
                fill($("language"), codes, $("language").value || "eng_Latn");
                fill($("target"), codes, "spa_Latn");
              } else {
                $("status").textContent += " · " + (await apiError(response));
              }
            }
          } catch (e) {
            $("status").textContent = "cannot reach the server: " + e;
          }
        }

        // Reads a text/event-stream body, calling onEvent(name, data) per event.
        async function readEvents(response, onEvent) {
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let name = "message", data = [];
              for (const line of block.split("\n")) {
                if (line.startsWith("event: ")) name = line.slice(7);
                else if (line.startsWith("data: ")) data.push(line.slice(6));
              }
              if (data.length) onEvent(name, JSON.parse(data.join("\n")));
            }
          }
        }

        function showParagraph(p) {
          const div = document.createElement("div");
          div.className = "paragraph";
          div.dataset.index = p.index;
          div.textContent = p.translation ?? p.text;
          if (p.translation != null) {
            const original = document.createElement("div");
            original.className = "original";
            original.textContent = p.text;
            div.append(original);
          }
          $("story").append(div);
        }

        $("story-form").addEventListener("submit", async (event) => {
          event.preventDefault();
          const button = $("write");
          button.disabled = true;
          $("story").replaceChildren();
          $("story-meta").textContent = "writing…";
          $("story-meta").classList.remove("error");
          const started = performance.now();
          try {
            const response = await fetch("/v1/stories", {
              method: "POST", headers: headers(),
              body: JSON.stringify({ prompt: $("prompt").value, audience: $("audience").value, language: $("language").value,
                                     model: $("story-model").value || undefined, stream: true }),
            });
            if (!response.ok) throw new Error(await apiError(response));
            await readEvents(response, (name, data) => {
              if (name === "paragraph") {
                showParagraph(data);
                $("story-meta").textContent = "paragraph " + (data.index + 1) + " after " + ((performance.now() - started) / 1000).toFixed(1) + " s…";
              } else if (name === "done") {
                const seconds = data.timings.generation_ms / 1000;
                const rate = seconds > 0 ? (data.usage.completion_tokens / seconds).toFixed(1) : "–";
                $("story-meta").textContent = data.paragraphs.length + " paragraph(s), " + data.usage.completion_tokens + " tokens in "
                  + (data.timings.total_ms / 1000).toFixed(1) + " s · " + data.model + (data.translator ? " → " + data.translator : "");
                $("speed").textContent = data.model + ": " + rate + " tokens/s";
                document.body.dataset.storyDone = "true";
              } else if (name === "error") {
                throw new Error(data.error.message);
              }
            });
          } catch (e) {
            $("story-meta").textContent = String(e.message || e);
            $("story-meta").classList.add("error");
          } finally {
            button.disabled = false;
          }
        });

        $("translate-form").addEventListener("submit", async (event) => {
          event.preventDefault();
          $("translate-meta").classList.remove("error");
          $("translate-meta").textContent = "translating…";
          try {
            const response = await fetch("/v1/translate", {
              method: "POST", headers: headers(),
              body: JSON.stringify({ text: $("source-text").value, target: $("target").value }),
            });
            if (!response.ok) throw new Error(await apiError(response));
            const body = await response.json();
            $("translation").hidden = false;
            $("translation").textContent = body.translations.map((t) => (typeof t === "string" ? t : t.text)).join("\n");
            $("translate-meta").textContent = body.model;
          } catch (e) {
            $("translate-meta").textContent = String(e.message || e);
            $("translate-meta").classList.add("error");
          }
        });

        refresh().then(() => {
          const query = new URLSearchParams(location.search);
          if (query.has("prompt")) $("prompt").value = query.get("prompt");
          if (query.has("audience")) $("audience").value = query.get("audience");
          if (query.has("language")) $("language").value = query.get("language");
          if (query.get("run") === "1") $("story-form").requestSubmit();
        });
        </script>
        </body>
        </html>
        """#
}
