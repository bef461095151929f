using System.Net;
using System.Text;
using EventGateway.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>http templates through the real engine against a real Kestrel server on 127.0.0.1.</summary>
public sealed class HttpTemplateTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private Upstream _server = null!;

    public async Task InitializeAsync() => _server = await Upstream.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static string Workflow(string name, string http, string extra = "") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}}}
        spec:
          entrypoint: call
        {{extra}}
          templates:
          - name: call
            http:
        {{string.Join("\n", http.Split('\n').Select(l => "      " + l))}}
        """;

    [Fact]
    public async Task Sends_method_plain_and_secret_headers_and_body_and_the_response_body_flows_on_as_the_result()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync($$$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: api-creds}
            stringData: {token: Bearer s3cr3t}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: notify}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: call, template: call-webhook}
                - - name: show
                    template: print
                    arguments: {parameters: [{name: text, value: "{{steps.call.outputs.result}}"}]}
              - name: call-webhook
                http:
                  url: "{{{_server.Url}}}/echo"
                  method: POST
                  headers:
                  - {name: Authorization, valueFrom: {secretKeyRef: {name: api-creds, key: token} } }
                  - {name: Content-Type, value: application/json}
                  body: '{"workflow": "{{workflow.name}}"}'
                  successCondition: "response.statusCode >= 200 && response.statusCode < 300"
              - name: print
                inputs: {parameters: [{name: text}]}
                container: {image: busybox, command: [echo, "{{inputs.parameters.text}}"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var request = _server.Requests.ShouldHaveSingleItem();
        request.Method.ShouldBe("POST");
        request.Headers["Authorization"].ShouldBe("Bearer s3cr3t");
        request.Headers["Content-Type"].ShouldBe("application/json");
        request.Body.ShouldBe("""{"workflow": "notify"}""");
        var call = TestEngine.Node(wf, "call");
        call.Type.ShouldBe(NodeType.Pod);
        call.Outputs!.Result.ShouldBe("""{"workflow": "notify"}""");
        t.Logs(wf, TestEngine.Node(wf, "show")).ShouldBe("""{"workflow": "notify"}""" + "\n");
    }

    [Theory]
    [InlineData(200, NodePhase.Succeeded, null)]
    [InlineData(204, NodePhase.Succeeded, null)]
    [InlineData(302, NodePhase.Failed, "received non-2xx response code: 302")]
    [InlineData(404, NodePhase.Failed, "received non-2xx response code: 404")]
    [InlineData(503, NodePhase.Failed, "received non-2xx response code: 503")]
    public async Task Without_a_successCondition_only_2xx_succeeds(int status, string phase, string? message)
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Workflow($"status-{status}", $"url: {_server.Url}/status/{status}"));
        var node = TestEngine.Node(wf, wf.Name);
        node.Phase.ShouldBe(phase);
        node.Message.ShouldBe(message);
        _server.Requests.ShouldHaveSingleItem().Method.ShouldBe("GET");
    }

    [Fact]
    public async Task SuccessCondition_sees_the_status_body_and_headers()
    {
        await using var t = await TestEngine.StartAsync();
        const string holds = "response.statusCode == 503 && response.body contains \"false\" && response.headers[\"X-Build\"][0] == \"42\"";
        var wf = await t.RunYamlAsync(Workflow("degraded-ok", $"url: {_server.Url}/status/503\nsuccessCondition: '{holds}'"));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        TestEngine.Node(wf, wf.Name).Outputs!.Result.ShouldBe("""{"code":503,"ok":false}""");

        var failed = await t.RunYamlAsync(Workflow("wrong-build", $"url: {_server.Url}/status/200\nsuccessCondition: 'response.headers[\"X-Build\"][0] == \"43\"'"));
        var node = TestEngine.Node(failed, failed.Name);
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("""successCondition 'response.headers["X-Build"][0] == "43"' evaluated false""");
        node.Outputs!.Result.ShouldBe("""{"code":200,"ok":true}""");
    }

    [Fact]
    public async Task A_missing_secret_fails_the_node_and_sends_nothing()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Workflow("no-secret", $$$"""
            url: {{{_server.Url}}}/echo
            headers:
            - {name: X-Api-Key, valueFrom: {secretKeyRef: {name: absent, key: token} } }
            """));
        var node = TestEngine.Node(wf, wf.Name);
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("http header X-Api-Key: secret \"absent\" not found");
        _server.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_body_above_the_result_limit_is_cut_at_256_KB()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Workflow("big", $"url: {_server.Url}/big"));
        var node = TestEngine.Node(wf, wf.Name);
        node.Phase.ShouldBe(NodePhase.Succeeded);
        node.Outputs!.Result!.Length.ShouldBe(256 * 1024);
        node.Outputs.Result.ShouldAllBe(c => c == 'x');
    }

    [Fact]
    public async Task TimeoutSeconds_fails_a_request_that_gets_no_answer()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var run = Submit(t, Workflow("slow", $"url: {_server.Url}/hang\ntimeoutSeconds: 5"));
        await _server.Hanging.WaitAsync(TestEngine.Patience);
        time.Advance(TimeSpan.FromSeconds(4));
        run.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromSeconds(2));
        var wf = await run;
        var node = TestEngine.Node(wf, "slow");
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe($"GET {_server.Url}/hang: no response within timeoutSeconds (5s)");
        await _server.Aborted.WaitAsync(TestEngine.Patience);
    }

    [Fact]
    public async Task The_workflow_deadline_aborts_a_request_in_flight()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var run = Submit(t, Workflow("deadline", $"url: {_server.Url}/hang\ntimeoutSeconds: 600", "  activeDeadlineSeconds: 10"));
        await _server.Hanging.WaitAsync(TestEngine.Patience);
        time.Advance(TimeSpan.FromSeconds(11));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "deadline").Phase.ShouldBe(NodePhase.Failed);
        // The controller cancelled the request: the server saw the client go away long before timeoutSeconds.
        await _server.Aborted.WaitAsync(TestEngine.Patience);
    }

    [Fact]
    public void Obviously_bad_http_templates_are_refused_at_load_with_field_paths()
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read(Workflow("bad", """
            url: not-a-url
            method: "GE T"
            headers:
            - {name: "", value: x}
            - {name: X-Key, valueFrom: {secretKeyRef: {name: creds}}}
            body: x
            bodyFrom: {bytes: "%%%"}
            timeoutSeconds: 0
            successCondition: "response.statusCode =="
            """)));
        var paths = e.Errors.Select(x => x.Path).ToList();
        paths.ShouldBe([
            "spec.templates[0].http.url", "spec.templates[0].http.method", "spec.templates[0].http.headers[0].name",
            "spec.templates[0].http.headers[1].valueFrom.secretKeyRef.key", "spec.templates[0].http", "spec.templates[0].http.bodyFrom.bytes",
            "spec.templates[0].http.timeoutSeconds", "spec.templates[0].http.successCondition",
        ], ignoreOrder: true);
        e.Errors.Single(x => x.Path.EndsWith(".url", StringComparison.Ordinal)).Reason.ShouldBe("'not-a-url' is not an absolute http or https URL");
    }

    private static Task<Workflow> Submit(TestEngine t, string yaml)
    {
        var wf = ManifestReader.Read(yaml).OfType<Workflow>().Single();
        return t.Engine.SubmitAsync(wf).ContinueWith(s => t.Engine.WaitAsync(s.Result, new CancellationTokenSource(TestEngine.Patience).Token)).Unwrap();
    }

    /// <summary>A loopback server: /echo records and returns the body, /status/N answers N, /hang never answers, /big sends 300 KB.</summary>
    private sealed class Upstream : IAsyncDisposable
    {
        public sealed record Request(string Method, IReadOnlyDictionary<string, string> Headers, string Body);

        private readonly WebApplication _app;
        private readonly Lock _gate = new();
        private readonly List<Request> _requests = [];
        private readonly TaskCompletionSource _hanging = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private Upstream(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";
        public Task Hanging => _hanging.Task;
        public Task Aborted => _aborted.Task;

        public IReadOnlyList<Request> Requests
        {
            get { lock (_gate) return _requests.ToList(); }
        }

        public static async Task<Upstream> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var server = new Upstream(app);
            app.Run(server.Handle);
            await app.StartAsync();
            server.Url = app.Urls.First().TrimEnd('/');
            return server;
        }

        private async Task Handle(HttpContext context)
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            lock (_gate) _requests.Add(new Request(context.Request.Method, headers, body));
            var path = context.Request.Path.Value ?? "";
            if (path == "/hang")
            {
                _hanging.TrySetResult();
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                _aborted.TrySetResult();
                return;
            }
            if (path == "/big")
            {
                await context.Response.WriteAsync(new string('x', 300 * 1024));
                return;
            }
            if (path.StartsWith("/status/", StringComparison.Ordinal))
            {
                var code = int.Parse(path["/status/".Length..]);
                context.Response.StatusCode = code;
                context.Response.Headers["X-Build"] = "42";
                if (code is not (204 or 304)) await context.Response.WriteAsync($$"""{"code":{{code}},"ok":{{(code < 300 ? "true" : "false")}}}""");
                return;
            }
            await context.Response.WriteAsync(body);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
