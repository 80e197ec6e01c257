// When the server refuses a callback, say so instead of leaving the page silently stale:
// 401 (session ended) goes back to the login page; any other refusal shows its message.
(function () {
  const originalFetch = window.fetch;
  function banner(text) {
    let el = document.getElementById("session-banner");
    if (!el) {
      el = document.createElement("div");
      el.id = "session-banner";
      el.className = "alert alert-warning m-0 rounded-0 text-center";
      el.setAttribute("role", "alert");
      document.body.appendChild(el);
    }
    el.textContent = text;
  }
  window.fetch = async function (...args) {
    const response = await originalFetch.apply(this, args);
    const url = String(args[0] && args[0].url ? args[0].url : args[0]);
    if (url.includes("_dash-")) {
      if (response.status === 401) {
        const next = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(next));
      } else if (response.status >= 400) {
        let text = "The server could not do this (status " + response.status + ").";
        try {
          const body = await response.clone().json();
          if (body && body.error) text = body.error;
        } catch (e) { /* not JSON: keep the generic text */ }
        banner(text);
      }
    }
    return response;
  };
})();
