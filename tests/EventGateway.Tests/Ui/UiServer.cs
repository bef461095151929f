using System.Net;
using System.Text;
using Microsoft.Playwright;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Ui;

/// <summary>
/// A real `egw serve` with a WorkflowTemplate, a webhook EventSource and two Sensors (one whose filter refuses pushes to
/// main, one whose http trigger calls a port nobody listens on yet, so its firing is dead-lettered), and Debian's
/// chromium driven by Playwright (its own browser download is not reachable here).
/// </summary>
public sealed class UiServer : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    public ServeProcess Serve { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public int WebhookPort { get; } = ServeProcess.FreePort();
    public int HookPort { get; } = ServeProcess.FreePort();
    public string Manifests { get; } = Directory.CreateTempSubdirectory("egw-ui-manifests-").FullName;

    /// <summary>Where screenshots go when EGW_UI_SHOTS names a directory (for people to look at; no test reads them).</summary>
    public static string? Shots => Environment.GetEnvironmentVariable("EGW_UI_SHOTS") is { Length: > 0 } d ? Directory.CreateDirectory(d).FullName : null;

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(Manifests, "ui.yaml"), $$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: greet, namespace: argo}
            spec:
              entrypoint: main
              arguments:
                parameters: [{name: who, value: world}]
              templates:
                - name: main
                  dag:
                    tasks:
                      - {name: hello, template: say, arguments: {parameters: [{name: msg, value: "hello {{workflow.parameters.who}}"}]}}
                      - {name: bye, template: say, dependencies: [hello], arguments: {parameters: [{name: msg, value: "bye {{workflow.parameters.who}}"}]}}
                - name: say
                  inputs: {parameters: [{name: msg}]}
                  outputs: {parameters: [{name: said, value: "{{inputs.parameters.msg}}"}]}
                  container: {image: alpine, command: [sh, -c], args: ["echo {{inputs.parameters.msg}}"]}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: slow, namespace: argo}
            spec:
              entrypoint: main
              templates:
                - name: main
                  container: {image: alpine, command: [sh, -c], args: ["echo started; sleep 600"]}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata: {name: nightly, namespace: argo}
            spec:
              schedule: "0 2 * * *"
              workflowSpec: {workflowTemplateRef: {name: greet}}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: github, namespace: argo-events}
            spec:
              webhook:
                push: {port: "{{{WebhookPort}}}", endpoint: /push, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: release, namespace: argo-events}
            spec:
              dependencies:
                - name: push
                  eventSourceName: github
                  eventName: push
                  filters:
                    data: [{path: body.ref, type: string, value: ["refs/heads/release"]}]
              triggers:
                - template: {name: log-it, log: {}}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: notify, namespace: argo-events}
            spec:
              dependencies:
                - {name: push, eventSourceName: github, eventName: push}
              triggers:
                - template:
                    name: chat
                    http: {url: "http://127.0.0.1:{{{HookPort}}}/hook", method: POST}
            """);
        Serve = await ServeProcess.StartAsync(null, null, "--manifests", Manifests);
        _playwright = await Playwright.CreateAsync();
        // Root has no user namespace sandbox for chromium here; the page under test is our own.
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        Assertions.SetDefaultExpectTimeout(90_000);
    }

    /// <summary>A fresh browser context (no cookies) with a laptop-sized window.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new() { BaseURL = Serve.BaseAddress.ToString(), ViewportSize = new() { Width = 1440, Height = 900 } });
        context.SetDefaultTimeout(90_000);
        return await context.NewPageAsync();
    }

    /// <summary>Logs in through the form, as a person pasting the admin token does.</summary>
    public async Task<IPage> LoggedInPageAsync()
    {
        var page = await NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#token", Serve.AdminToken);
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Workflows");
        return page;
    }

    /// <summary>Posts a push to the webhook until the listener takes it (it starts with the service, not before).</summary>
    public async Task SendPushAsync(string gitRef)
    {
        using var http = new HttpClient();
        await Eventually.Get(async () =>
        {
            try
            {
                using var resp = await http.PostAsync($"http://127.0.0.1:{WebhookPort}/push", new StringContent($$"""{"ref":"{{gitRef}}"}""", Encoding.UTF8, "application/json"));
                return resp.StatusCode == HttpStatusCode.OK ? "sent" : null;
            }
            catch (HttpRequestException) { return null; }
        }, "the webhook to take the event");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (Serve is not null) await Serve.DisposeAsync();
        Directory.Delete(Manifests, recursive: true);
    }
}
