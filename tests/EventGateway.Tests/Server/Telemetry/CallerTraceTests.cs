using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using EventGateway.Events.EventSources;
using EventGateway.Events.EventSources.Github;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Server.Telemetry;

/// <summary>
/// A sender's W3C trace context is continued by the event's receive span (so a CI run's trace shows the event it sent),
/// but only once the sender was authenticated: a webhook's bearer token, a GitHub signature; Kafka's producers are the
/// broker's to authenticate. A refused request, an unauthenticated endpoint and a malformed header start no one's trace.
/// </summary>
public sealed class CallerTraceTests : IDisposable
{
    private const string Token = "t0ken";
    private const string GithubSecret = "s3cr3t";
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public CallerTraceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ListenerContext.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>A fresh caller context: its trace id is what the test looks for among the process-wide spans.</summary>
    private static (ActivityTraceId Trace, ActivitySpanId Span, string Header) Caller()
    {
        var (trace, span) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        return (trace, span, $"00-{trace}-{span}-01");
    }

    private Activity ReceiveSpan(string eventId) =>
        _spans.Single(s => s.OperationName.EndsWith(" receive", StringComparison.Ordinal) && (string?)s.GetTagItem("cloudevents.event_id") == eventId);

    private static async Task<HttpStatusCode> SendAsync(string url, string? token, string? traceParent, string? traceState = null,
        IEnumerable<(string, string)>? headers = null, byte[]? body = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var req = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body ?? """{"build":1}"""u8.ToArray()) };
        req.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (token is not null) req.Headers.Add("Authorization", "Bearer " + token);
        if (traceParent is not null) req.Headers.Add("traceparent", traceParent);
        if (traceState is not null) req.Headers.Add("tracestate", traceState);
        foreach (var (k, v) in headers ?? []) req.Headers.Add(k, v);
        using var resp = await http.SendAsync(req);
        return resp.StatusCode;
    }

    [Fact]
    public async Task A_webhook_continues_the_trace_of_an_authenticated_sender_and_ignores_it_otherwise()
    {
        var (authPort, openPort) = (EventTestHost.FreePort(), EventTestHost.FreePort());
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync($$$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: hook-token}
            stringData: {token: "{{{Token}}}"}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: ci}
            spec:
              webhook:
                authed: {port: "{{{authPort}}}", endpoint: /ci, method: POST, authSecret: {name: hook-token, key: token}}
                open: {port: "{{{openPort}}}", endpoint: /ci, method: POST}
            """);

        // Authenticated: the event's span is the sender's child, in the sender's trace, with its tracestate.
        var good = Caller();
        (await SendAsync($"http://127.0.0.1:{authPort}/ci", Token, good.Header, "vendor=abc")).ShouldBe(HttpStatusCode.OK);
        var logged = (await host.WaitForEventsAsync("ci", 1)).Single();
        var span = ReceiveSpan(logged.Event.Id);
        span.TraceId.ShouldBe(good.Trace);
        span.ParentSpanId.ShouldBe(good.Span);
        span.TraceStateString.ShouldBe("vendor=abc");
        logged.Event.TraceParent.ShouldBe(span.Id); // the sensors continue from here, so the whole event is in the sender's trace

        // A wrong token with a traceparent: refused before anything, no span in that trace.
        var refused = Caller();
        (await SendAsync($"http://127.0.0.1:{authPort}/ci", "wrong", refused.Header)).ShouldBe(HttpStatusCode.Unauthorized);
        // An endpoint without authSecret: anyone may send, so no one may choose the parent; the event starts its own trace.
        var anonymous = Caller();
        (await SendAsync($"http://127.0.0.1:{openPort}/ci", null, anonymous.Header)).ShouldBe(HttpStatusCode.OK);
        // A malformed traceparent from an authenticated sender is ignored (W3C: start a new trace).
        (await SendAsync($"http://127.0.0.1:{authPort}/ci", Token, "00-not-a-trace-01")).ShouldBe(HttpStatusCode.OK);

        var events = await host.WaitForEventsAsync("ci", 3);
        foreach (var e in events.Skip(1))
        {
            var root = ReceiveSpan(e.Event.Id);
            root.ParentSpanId.ShouldBe(default, e.Event.Subject);
            root.TraceId.ShouldNotBe(anonymous.Trace);
        }
        _spans.ShouldNotContain(s => s.TraceId == refused.Trace || s.TraceId == anonymous.Trace);
    }

    [Fact]
    public async Task A_signed_github_delivery_continues_its_senders_trace_and_a_badly_signed_one_does_not()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(GithubPush.Source(port, GithubSecret));
        var body = Encoding.UTF8.GetBytes("""{"ref":"refs/heads/main","repository":{"full_name":"acme/api"}}""");
        (string, string)[] Push(string delivery, string signature) => [("X-GitHub-Event", "push"), ("X-GitHub-Delivery", delivery), ("X-Hub-Signature-256", signature)];

        var signed = Caller();
        var delivery = Guid.NewGuid().ToString();
        (await SendAsync($"http://127.0.0.1:{port}/push", null, signed.Header, headers: Push(delivery, GithubSignature.Sign(GithubSecret, body)), body: body))
            .ShouldBe(HttpStatusCode.OK);
        var span = await Eventually.Get(() => Task.FromResult(_spans.FirstOrDefault(s => (string?)s.GetTagItem("cloudevents.event_id") == delivery)), "the delivery's span");
        span.TraceId.ShouldBe(signed.Trace);
        span.ParentSpanId.ShouldBe(signed.Span);

        var forged = Caller();
        (await SendAsync($"http://127.0.0.1:{port}/push", null, forged.Header, headers: Push(Guid.NewGuid().ToString(), GithubSignature.Sign("not-the-secret", body)), body: body))
            .ShouldBe(HttpStatusCode.Unauthorized);
        _spans.ShouldNotContain(s => s.TraceId == forged.Trace);
    }

    [Fact]
    public async Task A_kafka_message_with_a_traceparent_header_continues_its_producers_trace()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("builds");
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync($"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {"{"}name: builds{"}"}
            spec:
              kafka:
                done:
                  url: {kafka.Bootstraps}
                  topic: builds
                  jsonBody: true
                  consumerGroup: {"{"}groupName: egw-builds, oldest: true{"}"}
            """);
        var producer = Caller();
        await kafka.ProduceAsync("builds", ["""b:{"n":1}"""], partition: 0, headers: [("traceparent", producer.Header), ("tracestate", "k=v")]);
        await kafka.ProduceAsync("builds", ["""b:{"n":2}"""], partition: 0);
        var events = await host.WaitForEventsAsync("builds", 2);
        var traced = await Eventually.Get(() => Task.FromResult(_spans.FirstOrDefault(s => (string?)s.GetTagItem("cloudevents.event_id") == events[0].Event.Id)), "the first message's span");
        traced.TraceId.ShouldBe(producer.Trace);
        traced.ParentSpanId.ShouldBe(producer.Span);
        traced.TraceStateString.ShouldBe("k=v");
        var plain = await Eventually.Get(() => Task.FromResult(_spans.FirstOrDefault(s => (string?)s.GetTagItem("cloudevents.event_id") == events[1].Event.Id)), "the second message's span");
        plain.ParentSpanId.ShouldBe(default);
    }
}
