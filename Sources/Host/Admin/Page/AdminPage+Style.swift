extension AdminPage {
    static let css = #"""
        :root {
          --bg: #f5f6f8; --card: #ffffff; --text: #1d2330; --muted: #6b7280; --line: #e5e7eb;
          --accent: #3b5bdb; --ok: #2f9e44; --warn: #e8590c; --bad: #e03131; --idle: #868e96;
          font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          font-size: 14px; color: var(--text); background: var(--bg);
        }
        * { box-sizing: border-box; }
        body { margin: 0; }
        code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; background: #eef0f4; padding: 1px 4px; border-radius: 4px; }
        .bar { display: flex; justify-content: space-between; align-items: center; padding: 12px 28px; background: #1d2330; color: #fff; }
        .brand { font-weight: 600; font-size: 16px; letter-spacing: .2px; }
        .brand .muted { color: #9aa4b5; font-weight: 400; }
        .logo { color: #7c9cff; }
        .bar-right { display: flex; gap: 10px; align-items: center; }
        main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 20px; box-shadow: 0 1px 2px rgba(16,24,40,.04); }
        .card.narrow { max-width: 460px; margin: 60px auto; }
        .card-head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; margin-bottom: 10px; }
        h2 { font-size: 15px; margin: 0 0 6px; font-weight: 600; }
        .muted { color: var(--muted); font-size: 12px; }
        .columns { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
        .columns .card { margin-bottom: 20px; min-width: 0; }
        @media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }
        table.grid { width: 100%; border-collapse: collapse; }
        table.grid th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); padding: 6px 8px; }
        table.grid td { border-bottom: 1px solid #f0f1f4; padding: 8px; vertical-align: middle; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 260px; }
        table.grid.compact { table-layout: fixed; }
        table.grid.compact td { padding: 5px 8px; font-size: 13px; max-width: none; }
        #jobs th:nth-child(1), #deliveries th:nth-child(1) { width: 48px; }
        #jobs th:nth-child(2) { width: 34%; }
        #jobs th:nth-child(6), #deliveries th:nth-child(5) { width: 64px; }
        #audit th:nth-child(1), #events th:nth-child(1) { width: 104px; }
        #audit th:nth-child(2) { width: 34%; }
        #audit th:nth-child(3) { width: 82px; }
        table.grid tr:last-child td { border-bottom: none; }
        .right { text-align: right; }
        td.empty { color: var(--muted); text-align: center; padding: 18px; white-space: normal; }
        .name { font-weight: 600; }
        .id { color: var(--muted); font-size: 12px; margin-left: 6px; }
        .pill { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 12px; background: #eef0f4; color: var(--text); }
        .bar .pill { background: #2d3547; color: #dfe4ee; }
        .state-ready, .state-succeeded { background: #e6f4ea; color: var(--ok); }
        .state-not_created, .state-queued, .state-running { background: #e7edff; color: var(--accent); }
        .state-disabled, .state-cancelled { background: #f1f3f5; color: var(--idle); }
        .state-failed, .state-dead, .sev-critical { background: #fdecec; color: var(--bad); }
        .sev-warning { background: #fff1e6; color: var(--warn); }
        .sev-info { background: #eef0f4; color: var(--muted); }
        .reason { color: var(--bad); font-size: 12px; margin-left: 6px; }
        button { font: inherit; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; padding: 6px 12px; cursor: pointer; }
        button.small { padding: 2px 10px; font-size: 12px; }
        button.ghost { background: transparent; border-color: #4a5468; color: #dfe4ee; }
        button:disabled { opacity: .5; cursor: default; }
        input[type=password], select { font: inherit; border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; background: #fff; }
        #login-form { display: flex; gap: 8px; margin-top: 12px; }
        #login-form input { flex: 1; }
        .error { color: var(--bad); }
        .switch { position: relative; display: inline-block; width: 38px; height: 22px; }
        .switch input { opacity: 0; width: 0; height: 0; }
        .slider { position: absolute; inset: 0; background: #ced4da; border-radius: 22px; transition: background .15s; cursor: pointer; }
        .slider::before { content: ""; position: absolute; width: 16px; height: 16px; left: 3px; top: 3px; background: #fff; border-radius: 50%; transition: transform .15s; box-shadow: 0 1px 2px rgba(0,0,0,.2); }
        .switch input:checked + .slider { background: var(--ok); }
        .switch input:checked + .slider::before { transform: translateX(16px); }
        .switch input:disabled + .slider { opacity: .5; }
        canvas#chart { width: 100%; height: 220px; display: block; }
        .legend { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 8px; font-size: 12px; color: var(--muted); }
        .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
        """#
}
