extension AdminPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Atom Hub · Admin</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/admin/app.css">
        <script src="/admin/app.js" defer></script>
        </head>
        <body>
        <header class="bar">
          <div class="brand"><span class="logo">◆</span> Atom Hub <span class="muted">admin</span></div>
          <div class="bar-right">
            <span id="status" class="pill">not signed in</span>
            <button id="signout" class="ghost" hidden>Sign out</button>
          </div>
        </header>

        <main>
          <section id="login" class="card narrow">
            <h2>Sign in</h2>
            <p class="muted">Enter the hub's <code>ADMIN_TOKEN</code>. It stays in this tab's session storage only.</p>
            <form id="login-form">
              <input id="token" type="password" autocomplete="off" placeholder="admin token" required>
              <button type="submit">Sign in</button>
            </form>
            <p id="login-error" class="error" hidden></p>
          </section>

          <div id="app" hidden>
            <section class="card">
              <div class="card-head"><h2>Providers</h2><span class="muted" id="providers-note"></span></div>
              <table class="grid" id="providers"><thead><tr><th>Provider</th><th>State</th><th>Events (15 min)</th><th class="right">Enabled</th></tr></thead><tbody></tbody></table>
            </section>

            <section class="card">
              <div class="card-head"><h2>Event rate</h2><span class="muted">events per minute, last 15 minutes, refreshed every 5 s</span></div>
              <canvas id="chart" width="1100" height="220" aria-label="event rate per provider"></canvas>
              <div id="legend" class="legend"></div>
            </section>

            <div class="columns">
              <section class="card">
                <div class="card-head"><h2>Recent events</h2>
                  <select id="event-provider" aria-label="provider filter"><option value="">all providers</option></select></div>
                <table class="grid compact" id="events"><thead><tr><th>Received</th><th>Provider</th><th>Type</th><th>External id</th></tr></thead><tbody></tbody></table>
              </section>
              <section class="card">
                <div class="card-head"><h2>Jobs</h2>
                  <select id="job-state" aria-label="job state filter"><option value="">all states</option><option>queued</option><option>running</option><option value="dead">dead letters</option><option>succeeded</option><option>cancelled</option></select></div>
                <table class="grid compact" id="jobs"><thead><tr><th>Id</th><th>Kind</th><th>State</th><th>Attempts</th><th>Last error</th><th></th></tr></thead><tbody></tbody></table>
              </section>
            </div>

            <div class="columns">
              <section class="card">
                <div class="card-head"><h2>Deliveries</h2></div>
                <table class="grid compact" id="deliveries"><thead><tr><th>Id</th><th>Destination</th><th>State</th><th>Attempts</th><th></th></tr></thead><tbody></tbody></table>
              </section>
              <section class="card">
                <div class="card-head"><h2>Audit log</h2></div>
                <table class="grid compact" id="audit"><thead><tr><th>Time</th><th>Event</th><th>Severity</th><th>Details</th></tr></thead><tbody></tbody></table>
              </section>
            </div>
          </div>
        </main>
        </body>
        </html>
        """#
}
