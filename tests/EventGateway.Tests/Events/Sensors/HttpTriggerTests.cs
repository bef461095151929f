using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Triggers;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>The http trigger against a real Kestrel server on 127.0.0.1 that records every request.</summary>
public sealed class HttpTriggerTests : IAsyncLifetime
{
    private const string OrderData = """{"body": {"id": "o-1", "items": [{"sku": "a", "n": 2}], "total": 12.50, "region": "eu"}}""";

    private readonly TriggerTestKit _kit = new();
    private readonly HttpTrigger _trigger = new();
    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _kit.Dispose();
    }

    private static string Sensor(string http, string policy = "") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: shop, namespace: default}
        spec:
          dependencies:
            - {name: order, eventSourceName: webhook, eventName: order}
          triggers:
            - template:
                name: notify
                http:
        {{string.Join("\n", http.Split('\n').Select(l => "          " + l))}}
        {{(policy.Length == 0 ? "" : "      policy: " + policy)}}
        """;

    private Task<TriggerResult> Fire(string http, string policy = "", string data = OrderData, CancellationToken ct = default)
    {
        var sensor = TriggerTestKit.Sensor(Sensor(http, policy));
        var events = new Dictionary<string, CloudEvent> { ["order"] = TriggerTestKit.Event("ev-1", data) };
        return _trigger.FireAsync(TriggerTestKit.Firing(sensor, events), _kit.Context, ct);
    }

    [Fact]
    public async Task Sends_method_headers_secrets_basic_auth_and_the_payload_exactly()
    {
        await _kit.AddSecretAsync("api", ("token", "s3cr3t-token"), ("user", "bot"), ("password", "p@ss:word"));
        _server.Status = 201;

        var result = await Fire($$"""
            url: {{_server.Url}}/orders
            method: PUT
            host: orders.internal
            headers: {Content-Type: application/json, X-Team: billing}
            dynamicHeaders:
              - {src: {dependencyName: order, dataKey: body.region}, dest: X-Region}
            secureHeaders:
              - name: X-Api-Key
                valueFrom: {secretKeyRef: {name: api, key: token} }
            basicAuth:
              username: {name: api, key: user}
              password: {name: api, key: password}
            payload:
              - {src: {dependencyName: order, dataKey: body.id}, dest: order.id}
              - {src: {dependencyName: order, dataKey: body.items, useRawData: true}, dest: order.items}
              - {src: {dependencyName: order, dataKey: body.total}, dest: total}
              - {src: {dependencyName: order, contextKey: id}, dest: meta.event}
            """, policy: "{status: {allow: [200, 201]}}");

        result.Detail.ShouldBe($"PUT {_server.Url}/orders → 201");
        var request = _server.Requests.ShouldHaveSingleItem();
        request.Method.ShouldBe("PUT");
        request.Path.ShouldBe("/orders");
        request.Headers["Host"].ShouldBe("orders.internal");
        request.Headers["Content-Type"].ShouldBe("application/json");
        request.Headers["X-Team"].ShouldBe("billing");
        request.Headers["X-Region"].ShouldBe("eu");
        request.Headers["X-Api-Key"].ShouldBe("s3cr3t-token");
        request.Headers["Authorization"].ShouldBe("Basic " + Convert.ToBase64String("bot:p@ss:word"u8));
        request.Body.ShouldBe("""{"order":{"id":"o-1","items":[{"sku":"a","n":2}]},"total":"12.5","meta":{"event":"ev-1"}}""");
        _kit.Logger.Entries.ShouldAllBe(e => !e.Message.Contains("s3cr3t") && !e.Message.Contains("p@ss"));
    }

    [Fact]
    public async Task Own_parameters_rewrite_the_url_before_the_request_and_post_is_the_default()
    {
        var result = await Fire($$$"""
            url: {{{_server.Url}}}/placeholder
            parameters:
              - {src: {dependencyName: order, dataTemplate: "{{{_server.Url}}}/orders/{{ .Input.body.id }}"}, dest: url}
            """);

        result.Detail.ShouldBe($"POST {_server.Url}/orders/o-1 → 200");
        var request = _server.Requests.ShouldHaveSingleItem();
        request.Method.ShouldBe("POST");
        request.Body.ShouldBe(""); // no payload: Argo sends an empty body
        request.Headers["Content-Length"].ShouldBe("0");
        request.Headers.ContainsKey("Content-Type").ShouldBeFalse();
    }

    [Fact]
    public async Task Credentials_in_the_url_become_basic_auth_as_in_go_and_are_never_shown()
    {
        var url = _server.Url.Replace("http://", "http://bot:p%40ss@", StringComparison.Ordinal);
        (await Fire($"url: {url}/x\nmethod: GET")).Detail.ShouldBe($"GET {_server.Url}/x → 200");
        var request = _server.Requests.ShouldHaveSingleItem();
        request.Headers["Authorization"].ShouldBe("Basic " + Convert.ToBase64String("bot:p@ss"u8));
        request.Headers.ContainsKey("Content-Length").ShouldBeFalse("a GET without payload has no body");
    }

    [Fact]
    public async Task A_status_outside_the_allow_list_is_a_retryable_failure()
    {
        _server.Status = 503;
        var e = await Should.ThrowAsync<TriggerException>(() => Fire($"url: {_server.Url}/x", policy: "{status: {allow: [200]}}"));
        e.Retryable.ShouldBeTrue();
        e.Message.ShouldBe($"POST {_server.Url}/x → 503, not in policy.status.allow [200]");
    }

    [Fact]
    public async Task Without_a_policy_any_response_is_success_as_in_argo()
    {
        _server.Status = 500;
        (await Fire($"url: {_server.Url}/x\nmethod: DELETE")).Detail.ShouldBe($"DELETE {_server.Url}/x → 500");
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_retryably_on_the_injected_clock()
    {
        var firing = Fire($"url: {_server.Url}/hang\ntimeout: 5");
        await _server.HangingRequest.WaitAsync(TimeSpan.FromSeconds(30));
        _kit.Time.Advance(TimeSpan.FromSeconds(4));
        firing.IsCompleted.ShouldBeFalse("the timeout is 5 s on the trigger's clock");

        _kit.Time.Advance(TimeSpan.FromSeconds(1));
        var e = await Should.ThrowAsync<TriggerException>(() => firing.WaitAsync(TimeSpan.FromSeconds(30)));
        e.Retryable.ShouldBeTrue();
        e.Message.ShouldBe($"POST {_server.Url}/hang: no response within the timeout of 5s");
    }

    [Fact]
    public async Task A_refused_connection_is_retryable()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var e = await Should.ThrowAsync<TriggerException>(() => Fire($"url: http://127.0.0.1:{port}/x"));
        e.Retryable.ShouldBeTrue();
        e.Message.ShouldStartWith($"POST http://127.0.0.1:{port}/x failed: ");
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_turned_into_a_failure()
    {
        using var cts = new CancellationTokenSource();
        var firing = Fire($"url: {_server.Url}/hang", ct: cts.Token);
        await _server.HangingRequest.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => firing.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_missing_secret_is_a_configuration_error_and_sends_nothing()
    {
        var e = await Should.ThrowAsync<TriggerException>(() => Fire($$"""
            url: {{_server.Url}}/x
            secureHeaders:
              - {name: X-Api-Key, valueFrom: {secretKeyRef: {name: api, key: token} } }
            """));
        e.Retryable.ShouldBeFalse();
        e.Message.ShouldBe("template.http.secureHeaders[0].valueFrom.secretKeyRef: secret default/api has no key 'token'");
        _server.Requests.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("url: http://127.0.0.1:1/x\ntls: {caCertSecret: {name: ca, key: ca.pem}}",
        "template.http.tls.caCertSecret: custom CAs and client certificates are not supported for http triggers yet; only tls.insecureSkipVerify is")]
    [InlineData("url: http://127.0.0.1:1/x\nparameters:\n  - {src: {dependencyName: order, value: 'not a url'}, dest: url}",
        "template.http.url: 'not a url' is not an absolute http or https URL")]
    [InlineData("url: http://127.0.0.1:1/x\npayload:\n  - {src: {dependencyName: order, dataKey: body.nope}, dest: x}",
        "template.http.payload[0]: unable to resolve the value from dependency \"order\": dataKey \"body.nope\" does not exist in the event data and no default value is set")]
    [InlineData("url: http://127.0.0.1:1/x\nparameters:\n  - {src: {dependencyName: order, dataKey: body.nope}, dest: url}",
        "template.http.parameters[0]: unable to resolve the value from dependency \"order\": dataKey \"body.nope\" does not exist in the event data and no default value is set")]
    [InlineData("url: http://127.0.0.1:1/x\ntimeout: soon",
        "template.http.timeout: wrong type: expected a number")]
    public async Task Bad_configuration_is_refused_without_retry(string http, string message)
    {
        var e = await Should.ThrowAsync<TriggerException>(() => Fire(http));
        e.Retryable.ShouldBeFalse();
        e.Message.ShouldBe(message);
    }

    [Fact]
    public async Task Insecure_skip_verify_accepts_a_self_signed_server_and_verification_refuses_it()
    {
        await using var tls = await RecordingServer.StartAsync(SelfSigned());

        (await Fire($"url: {tls.Url}/x\ntls: {{insecureSkipVerify: true}}")).Detail.ShouldBe($"POST {tls.Url}/x → 200");
        var e = await Should.ThrowAsync<TriggerException>(() => Fire($"url: {tls.Url}/x"));
        e.Retryable.ShouldBeTrue();
        tls.Requests.Count.ShouldBe(1);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Kestrel on 127.0.0.1: answers <see cref="Status"/>, except <c>/hang</c>, which never answers.</summary>
    private sealed class RecordingServer : IAsyncDisposable
    {
        public sealed record Request(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

        private readonly WebApplication _app;
        private readonly Lock _gate = new();
        private readonly List<Request> _requests = [];
        private readonly TaskCompletionSource _hanging = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private RecordingServer(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";
        public int Status { get; set; } = 200;
        public Task HangingRequest => _hanging.Task;

        public IReadOnlyList<Request> Requests
        {
            get { lock (_gate) return _requests.ToList(); }
        }

        public static async Task<RecordingServer> StartAsync(X509Certificate2? certificate = null)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
            {
                if (certificate is not null) o.UseHttps(certificate);
            }));
            var app = builder.Build();
            var server = new RecordingServer(app);
            app.Run(server.Handle);
            await app.StartAsync();
            server.Url = app.Urls.First().TrimEnd('/');
            return server;
        }

        private async Task Handle(HttpContext context)
        {
            if (context.Request.Path == "/hang")
            {
                _hanging.TrySetResult();
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            lock (_gate) _requests.Add(new Request(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body));
            context.Response.StatusCode = Status;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
