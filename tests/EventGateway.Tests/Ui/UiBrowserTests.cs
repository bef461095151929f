using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Shouldly;
using EventGateway.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace EventGateway.Tests.Ui;

/// <summary>
/// The web UI in a real browser against a real `egw serve`: log in, submit from a template, watch the graph turn
/// green, read a step's logs, act on a workflow with confirmation, see a refused event's reason and replay a dead letter.
/// Every wait is on a condition in the page (Playwright's expect), never a sleep.
/// </summary>
public sealed class UiBrowserTests(UiServer ui) : IClassFixture<UiServer>
{
    private const string Green = "rgb(24, 190, 148)"; // Argo's Succeeded

    [Fact]
    public async Task A_wrong_token_is_refused_and_the_admin_token_logs_in()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/");
        page.Url.ShouldEndWith("/login"); // no session: the app shell redirects, nothing is shown

        await page.FillAsync("#token", "egw_not-a-token");
        var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("button[type=submit]"), r => r.Url.EndsWith("/login", StringComparison.Ordinal) && r.Request.Method == "POST");
        refused.Status.ShouldBe(401);
        await Expect(page.Locator(".error")).ToContainTextAsync("invalid or revoked token");
        (await page.Context.CookiesAsync()).ShouldBeEmpty();

        await page.FillAsync("#token", ui.Serve.AdminToken);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Workflows");
        await Expect(page.Locator("#who")).ToHaveTextAsync("admin (admin)");
        var cookie = (await page.Context.CookiesAsync()).ShouldHaveSingleItem();
        cookie.HttpOnly.ShouldBeTrue();
        cookie.SameSite.ShouldBe(SameSiteAttribute.Strict);
        cookie.Value.ShouldNotContain(ui.Serve.AdminToken);

        await page.ClickAsync("#logout");
        await page.WaitForURLAsync("**/login");
        await page.GotoAsync("/");
        page.Url.ShouldEndWith("/login");
    }

    [Fact]
    public async Task A_workflow_submitted_from_a_template_turns_green_in_the_graph_and_shows_its_logs()
    {
        var page = await ui.LoggedInPageAsync();
        await page.ClickAsync("nav >> text=Workflow Templates");
        await page.ClickAsync("button[data-submit=greet]");
        await Expect(page.Locator("[data-param=who]")).ToHaveValueAsync("world"); // the template's default
        await page.FillAsync("[data-param=who]", "browser");
        await page.ClickAsync("[data-submit-go]");

        await page.WaitForURLAsync("**/#/workflows/argo/greet-*");
        var hello = page.Locator("g.node[data-node-name=hello]");
        await Expect(hello).ToHaveAttributeAsync("data-phase", "Succeeded");
        (await hello.Locator("circle").EvaluateAsync<string>("c => getComputedStyle(c).fill")).ShouldBe(Green);
        await Expect(page.Locator("g.node[data-node-name=bye]")).ToHaveAttributeAsync("data-phase", "Succeeded");
        // bye depends on hello: drawn below it, as Argo draws a DAG.
        (await page.Locator("g.node[data-node-name=bye]").BoundingBoxAsync())!.Y.ShouldBeGreaterThan((await hello.BoundingBoxAsync())!.Y + 20);
        await Expect(page.Locator("h1 .phase")).ToHaveAttributeAsync("data-phase", "Succeeded");
        if (UiServer.Shots is { } shots) await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "workflow-graph.png") });

        await hello.ClickAsync();
        await Expect(page.Locator(".details")).ToContainTextAsync("hello browser"); // the node's input parameter
        await page.ClickAsync("button[data-logs]");
        await Expect(page.Locator("pre.logs")).ToHaveTextAsync("hello browser\n");
        if (UiServer.Shots is { } dir) await page.ScreenshotAsync(new() { Path = Path.Combine(dir, "workflow-logs.png") });

        // The list shows it with its live phase, and the phase filter keeps it or drops it.
        var name = page.Url.Split('/').Last();
        await page.GotoAsync("/#/workflows?phase=Succeeded");
        await Expect(page.Locator($"tr[data-workflow='{name}'] .phase")).ToHaveAttributeAsync("data-phase", "Succeeded");
        await page.GotoAsync("/#/workflows?phase=Failed");
        await Expect(page.Locator(".empty")).ToBeVisibleAsync();
        await page.GotoAsync("/#/workflows?labels=workflows.argoproj.io/workflow-template%3Dgreet");
        await Expect(page.Locator($"tr[data-workflow='{name}']")).ToBeVisibleAsync();
        await page.GotoAsync("/#/workflows?labels=team%3Dnobody");
        await Expect(page.Locator(".empty")).ToBeVisibleAsync();

        // The CronWorkflow that runs the same template, with its schedule.
        await page.ClickAsync("nav >> text=Cron Workflows");
        await Expect(page.Locator("tr[data-cron=nightly]")).ToContainTextAsync("0 2 * * *");
    }

    [Fact]
    public async Task Logs_follow_a_running_step_terminate_and_delete_ask_first_and_the_archive_keeps_the_workflow()
    {
        using var api = ui.Serve.CreateClient();
        var submitted = await api.PostAsync("api/v1/workflows/argo/submit", ServeProcess.Json("""{"resourceKind":"workflowtemplate","resourceName":"slow"}"""));
        submitted.StatusCode.ShouldBe(HttpStatusCode.OK, await submitted.Content.ReadAsStringAsync());
        var name = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["metadata"]!["name"]!.GetValue<string>();

        var page = await ui.LoggedInPageAsync();
        await page.GotoAsync($"/#/workflows/argo/{name}");
        var pod = page.Locator("g.node").First;
        await Expect(pod).ToHaveAttributeAsync("data-phase", "Running");
        // Its log is followed while it runs.
        await pod.ClickAsync();
        await page.ClickAsync("button[data-logs]");
        await Expect(page.Locator("pre.logs")).ToHaveTextAsync("started\n");
        await Expect(page.Locator(".details h3")).ToContainTextAsync("following");

        await page.ClickAsync("button[data-action=terminate]");
        await Expect(page.Locator("#confirm-text")).ToHaveTextAsync($"Terminate workflow argo/{name}?");
        await page.ClickAsync("#confirm button[value=cancel]");
        await Expect(page.Locator("#confirm")).Not.ToBeVisibleAsync();
        (await Phase(api, name)).ShouldBe("Running");

        await page.ClickAsync("button[data-action=terminate]");
        await page.ClickAsync("#confirm-ok");
        await Expect(page.Locator("h1 .phase")).ToHaveAttributeAsync("data-phase", "Failed");
        await Expect(page.Locator("button[data-action=terminate]")).ToBeDisabledAsync();
        (await Phase(api, name)).ShouldBe("Failed");
        await Expect(page.Locator(".details h3")).ToContainTextAsync("(end)"); // the server ended the followed stream

        await page.ClickAsync("button[data-action=delete]");
        await Expect(page.Locator("#confirm-text")).ToHaveTextAsync($"Delete workflow argo/{name}?");
        await page.ClickAsync("#confirm-ok");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Workflows");
        (await api.GetAsync($"api/v1/workflows/argo/{name}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        // The archive kept it: its graph, read-only.
        await page.ClickAsync("nav >> text=Archive");
        await page.ClickAsync($"tr[data-archived='{name}']");
        await Expect(page.Locator("h1 .phase")).ToHaveAttributeAsync("data-phase", "Failed");
        await Expect(page.Locator("h1")).ToContainTextAsync("archived");
        await Expect(page.Locator("g.node").First).ToHaveAttributeAsync("data-phase", "Failed");
        (await page.Locator("button[data-action]").CountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task A_refused_event_shows_each_sensors_reason_and_its_dead_letter_replays_from_the_ui()
    {
        await ui.SendPushAsync("refs/heads/main");
        var page = await ui.LoggedInPageAsync();
        await page.ClickAsync("nav >> text=Event Log");
        var row = page.Locator("tr[data-sequence]").First;
        await Expect(row.Locator("[data-outcome]")).ToHaveAttributeAsync("data-outcome", "dead-lettered");
        await row.ClickAsync();

        var release = page.Locator("[data-path-sensor='argo-events/release'] .stage[data-outcome=filtered]");
        await Expect(release).ToContainTextAsync("refs/heads/main"); // the filter's reason names the value it refused
        var notify = page.Locator("[data-path-sensor='argo-events/notify']");
        await Expect(notify.Locator(".stage[data-trigger=chat][data-outcome=failed]")).ToContainTextAsync($"127.0.0.1:{ui.HookPort}");
        await Expect(notify.Locator(".stage[data-trigger=chat][data-outcome=dead-lettered]")).ToBeVisibleAsync();
        if (UiServer.Shots is { } shots) await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "event-path.png"), FullPage = true });

        // The sensors and the source count it.
        await page.ClickAsync("nav >> text=Sensors");
        await Expect(page.Locator("tr[data-sensor=release]")).ToContainTextAsync("Running");
        await Expect(page.Locator("tr[data-sensor=release] td").Nth(5)).Not.ToHaveTextAsync("0"); // filtered
        await Expect(page.Locator("tr[data-sensor=notify]")).ToContainTextAsync("dead-lettered 1");
        await page.ClickAsync("nav >> text=Event Sources");
        await Expect(page.Locator("tr[data-eventsource=github]")).ToContainTextAsync("Listening");
        await Expect(page.Locator("tr[data-eventsource=github] td[data-accepted]")).Not.ToHaveTextAsync("0");

        // Now something listens where the trigger posts: the replay fires it.
        await using var hook = await HookListener.StartAsync(ui.HookPort);
        await page.ClickAsync("nav >> text=Dead Letters");
        var letter = page.Locator("tr[data-dead-letter]").Filter(new() { HasText = "argo-events/notify" }).First;
        await letter.Locator("button[data-replay]").ClickAsync();
        await Expect(page.Locator("#confirm-text")).ToContainTextAsync("Replay dead letter");
        await page.ClickAsync("#confirm-ok");
        await Expect(page.Locator("#toast")).ToContainTextAsync("triggered");
        (await hook.Received.Task.WaitAsync(TimeSpan.FromSeconds(60))).ShouldBe("POST /hook");
        await page.CheckAsync("text=include replayed >> input");
        await Expect(page.Locator("td[data-replay-outcome^=triggered]").First).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_read_token_sees_its_namespace_only_and_the_ui_refuses_what_its_role_does_not_allow()
    {
        using var api = ui.Serve.CreateClient();
        var applied = await api.PostAsync("api/v1/apply", new StringContent("""
            apiVersion: v1
            kind: Secret
            metadata: {name: viewer, namespace: argo, labels: {eventgateway.io/api-token: "true"}}
            stringData: {token: egw_viewer-token-for-the-ui-test, role: read}
            """, System.Text.Encoding.UTF8, "application/yaml"));
        applied.StatusCode.ShouldBe(HttpStatusCode.OK, await applied.Content.ReadAsStringAsync());

        var page = await ui.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#token", "egw_viewer-token-for-the-ui-test");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("#who")).ToHaveTextAsync("secret argo/viewer (read)");
        // Its namespace's list (every namespace would be a 403): a table or the empty note, and no error.
        await Expect(page.Locator("tr[data-workflow], .empty").First).ToBeVisibleAsync();
        await Expect(page.Locator("#toast")).Not.ToHaveClassAsync("show error");

        await page.ClickAsync("nav >> text=Workflow Templates");
        await page.ClickAsync("button[data-submit=greet]");
        await page.ClickAsync("[data-submit-go]");
        await Expect(page.Locator("#toast")).ToContainTextAsync("needs the submit role");
        page.Url.ShouldEndWith("#/templates");

        // Revoking the token (the Secret no longer labelled) ends the session at its next request.
        var revoked = await api.PostAsync("api/v1/apply", new StringContent("""
            apiVersion: v1
            kind: Secret
            metadata: {name: viewer, namespace: argo, labels: {eventgateway.io/api-token: "false"}}
            stringData: {token: egw_viewer-token-for-the-ui-test, role: read}
            """, System.Text.Encoding.UTF8, "application/yaml"));
        revoked.StatusCode.ShouldBe(HttpStatusCode.OK, await revoked.Content.ReadAsStringAsync());
        await page.ReloadAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login(#.*)?$"));
        await Expect(page.Locator("#token")).ToBeVisibleAsync();
    }

    private static async Task<string?> Phase(HttpClient api, string name) =>
        JsonNode.Parse(await api.GetStringAsync($"api/v1/workflows/argo/{name}"))!["status"]?["phase"]?.GetValue<string>();

    /// <summary>A real HTTP endpoint for the sensor's http trigger, started only when the replay should succeed.</summary>
    private sealed class HookListener : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        public TaskCompletionSource<string> Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static Task<HookListener> StartAsync(int port)
        {
            var h = new HookListener();
            h._listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            h._listener.Start();
            _ = h.ServeAsync();
            return Task.FromResult(h);
        }

        private async Task ServeAsync()
        {
            try
            {
                while (_listener.IsListening)
                {
                    var ctx = await _listener.GetContextAsync();
                    Received.TrySetResult($"{ctx.Request.HttpMethod} {ctx.Request.Url!.AbsolutePath}");
                    ctx.Response.StatusCode = 200;
                    ctx.Response.Close();
                }
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
        }

        public ValueTask DisposeAsync()
        {
            _listener.Close();
            return ValueTask.CompletedTask;
        }
    }
}
