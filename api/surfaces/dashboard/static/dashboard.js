// ferryman's dashboard: the little that htmx does not do. Everything works without it
// except live LLM tokens and "select all".
(function () {
  "use strict";

  // Select all / none of the runs on the page.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    document.querySelectorAll("input[name=run_id]").forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // An llm step's tokens as they stream: one <pre> per step, a retried call starts over.
  function streamChunks(panel) {
    var source = new EventSource(panel.getAttribute("data-chunks"));
    var seen = {};
    source.addEventListener("chunk", function (message) {
      var chunk = JSON.parse(message.data);
      var key = chunk.step_id + "/" + chunk.call;
      var out = panel.querySelector('pre[data-call="' + CSS.escape(key) + '"]');
      if (!out) {
        var title = document.createElement("h3");
        title.textContent = chunk.step_id + " · call " + chunk.call;
        out = document.createElement("pre");
        out.setAttribute("data-call", key);
        out.className = "llm-stream";
        panel.querySelector("[data-empty]")?.remove();
        panel.append(title, out);
      }
      if (chunk.attempt !== seen[key]) {
        seen[key] = chunk.attempt;
        out.textContent = "";
      }
      out.textContent += chunk.text;
    });
    source.addEventListener("closed", function () { source.close(); });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) return;
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chunks]").forEach(streamChunks);
  });
})();
