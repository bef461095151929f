using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Events.EventSources;
using EventGateway.Model;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The webhook source on a real Kestrel listener: every answer, and what reaches the log.</summary>
public sealed class WebhookListenerTests : IAsyncLifetime
{
    private readonly int _port = EventTestHost.FreePort();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private EventTestHost _host = null!;

    private string Url(string path = "/push") => $"http://127.0.0.1:{_port}{path}";

    private string Manifest(string extra = "", string name = "hooks", string endpoint = "/push") => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: hook-token, namespace: ci}
        stringData: {token: s3cret}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: {{name}}, namespace: ci}
        spec:
          webhook:
            push:
              port: "{{_port}}"
              endpoint: {{endpoint}}
              method: POST
              metadata: {team: platform}
        {{extra}}
        """;

    public async Task InitializeAsync() => _host = await EventTestHost.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private async Task<long> Count() => (await _host.Log.StatsAsync()).Count;

    private async Task<(HttpStatusCode Status, string Body)> Post(string body, string contentType = "application/json", string? token = null, string path = "/push")
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (token is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        req.Headers.Add("X-Custom-thing", "v1");
        using var resp = await _http.SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_accepted_post_is_in_the_log_in_Argos_webhook_shape_before_the_answer()
    {
        await _host.ApplyAsync(Manifest());
        var (status, body) = await Post("""{"ref":"refs/heads/main","n":1}""");
        status.ShouldBe(HttpStatusCode.OK);
        body.ShouldBe("success\n");

        // Acknowledged means durable: the event is readable the moment the answer arrived.
        var e = (await _host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem();
        e.Namespace.ShouldBe("ci");
        e.Event.Source.ShouldBe("hooks");
        e.Event.Subject.ShouldBe("push");
        e.Event.Type.ShouldBe("webhook");
        e.Event.DataContentType.ShouldBe("application/json");
        Guid.TryParse(e.Event.Id, out _).ShouldBeTrue();
        var data = JsonNode.Parse(e.Event.Data.Span)!.AsObject();
        data.Select(kv => kv.Key).ShouldBe(["header", "body", "metadata"]);
        data["body"]!.ToJsonString().ShouldBe("""{"ref":"refs/heads/main","n":1}""");
        data["metadata"]!.ToJsonString().ShouldBe("""{"team":"platform"}""");
        // Go's canonical header names and lists of values, as Sensors' dataKey paths expect.
        data["header"]!["X-Custom-Thing"]!.ToJsonString().ShouldBe("""["v1"]""");
        data["header"]!["Content-Type"]![0]!.GetValue<string>().ShouldStartWith("application/json");
        data["header"]!.AsObject().ContainsKey("Host").ShouldBeFalse(); // Go keeps Host out of Request.Header
    }

    [Fact]
    public async Task Bad_requests_get_their_code_and_a_reason_and_write_nothing()
    {
        await _host.ApplyAsync(Manifest());
        using (var get = await _http.GetAsync(Url()))
        {
            get.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
            get.Content.Headers.Allow.ShouldBe(["POST"]);
            (await get.Content.ReadAsStringAsync()).ShouldBe("method GET is not allowed on /push; use POST\n");
        }
        var notJson = await Post("{not json", "application/json");
        notJson.Status.ShouldBe(HttpStatusCode.BadRequest);
        notJson.Body.ShouldStartWith("body is not JSON: ");
        (await Post("", "application/json")).ShouldBe((HttpStatusCode.BadRequest, "body is empty; expected JSON\n"));
        using (var missing = await _http.PostAsync(Url("/nope"), new StringContent("{}")))
        {
            missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await missing.Content.ReadAsStringAsync()).ShouldBe($"no endpoint /nope on port {_port}\n");
        }
        (await Count()).ShouldBe(0);

        var status = _host.Sources.StatusOf("ci", "hooks")!.Value.Listeners.Single();
        status.Rejected.ShouldBe(new Dictionary<string, long> { ["405"] = 1, ["400"] = 2 }, ignoreOrder: true);
        status.Accepted.ShouldBe(0);
    }

    [Fact]
    public async Task Bodies_over_maxPayloadSize_are_refused_with_413_whether_declared_or_streamed()
    {
        await _host.ApplyAsync(Manifest().Replace("method: POST", "method: POST\n      maxPayloadSize: 100"));
        var big = "{\"pad\":\"" + new string('x', 200) + "\"}";
        (await Post(big)).ShouldBe((HttpStatusCode.RequestEntityTooLarge, "body of 210 bytes is over the limit of 100 bytes\n"));

        // Chunked: no Content-Length to trust, the reader stops at the limit.
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var req = new HttpRequestMessage(HttpMethod.Post, Url()) { Content = chunked };
        req.Headers.TransferEncodingChunked = true;
        using (var resp = await _http.SendAsync(req))
        {
            resp.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
            (await resp.Content.ReadAsStringAsync()).ShouldBe("body is over the limit of 100 bytes\n");
        }

        // A form post obeys the same limit.
        var form = "a=" + new string('y', 200);
        (await Post(form, "application/x-www-form-urlencoded")).Status.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await Count()).ShouldBe(0);
        (await Post("""{"small":true}""")).Status.ShouldBe(HttpStatusCode.OK);
        (await Count()).ShouldBe(1);
    }

    [Fact]
    public async Task A_form_post_becomes_a_map_of_value_lists()
    {
        await _host.ApplyAsync(Manifest());
        (await Post("branch=main&tag=a&tag=b", "application/x-www-form-urlencoded")).Status.ShouldBe(HttpStatusCode.OK);
        var e = (await _host.Log.ReadAsync(0, 1)).Single();
        JsonNode.Parse(e.Event.Data.Span)!["body"]!.ToJsonString().ShouldBe("""{"branch":["main"],"tag":["a","b"]}""");
    }

    [Fact]
    public async Task A_GET_endpoint_publishes_its_query()
    {
        await _host.ApplyAsync(Manifest().Replace("method: POST", "method: GET"));
        using var resp = await _http.GetAsync(Url("/push?x=1&y=2"));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        var e = (await _host.Log.ReadAsync(0, 1)).Single();
        JsonNode.Parse(e.Event.Data.Span)!["body"]!.ToJsonString().ShouldBe("""{"x":["1"],"y":["2"]}""");
    }

    [Fact]
    public async Task The_bearer_token_is_required_masked_in_the_event_and_rotates_without_restart()
    {
        await _host.ApplyAsync(Manifest().Replace("method: POST", "method: POST\n      authSecret: {name: hook-token, key: token}"));
        (await Post("{}")).ShouldBe((HttpStatusCode.Unauthorized, "missing Authorization: Bearer token\n"));
        (await Post("{}", token: "wrong")).ShouldBe((HttpStatusCode.Unauthorized, "bad Bearer token\n"));
        (await Count()).ShouldBe(0);
        (await Post("{}", token: "s3cret")).Status.ShouldBe(HttpStatusCode.OK);
        var e = (await _host.Log.ReadAsync(0, 1)).Single();
        JsonNode.Parse(e.Event.Data.Span)!["header"]!["Authorization"]!.ToJsonString().ShouldBe("""["*****"]""");
        Encoding.UTF8.GetString(e.Event.Data.Span).ShouldNotContain("s3cret");

        var secret = (await _host.Store.GetAsync<Secret>("ci", "hook-token"))!;
        secret.StringData!["token"] = "rotated";
        await _host.Store.UpdateAsync(secret);
        (await Post("{}", token: "s3cret")).Status.ShouldBe(HttpStatusCode.Unauthorized);
        (await Post("{}", token: "rotated")).Status.ShouldBe(HttpStatusCode.OK);
        (await Count()).ShouldBe(2);
    }

    [Fact]
    public async Task The_filter_expression_decides_what_is_published()
    {
        await _host.ApplyAsync(Manifest().Replace("metadata: {team: platform}", "metadata: {team: platform}\n      filter:\n        expression: 'body.ref == \"refs/heads/main\"'"));
        var dropped = await Post("""{"ref":"refs/heads/dev"}""");
        dropped.Status.ShouldBe(HttpStatusCode.OK);
        dropped.Body.ShouldContain("event not published: filter:");
        (await Count()).ShouldBe(0);
        (await Post("""{"ref":"refs/heads/main"}""")).Body.ShouldBe("success\n");
        (await Count()).ShouldBe(1);
    }

    [Fact]
    public async Task Endpoints_share_a_port_and_the_port_closes_with_its_last_endpoint()
    {
        await _host.ApplyAsync(Manifest(name: "one", endpoint: "/one"));
        await _host.ApplyAsync(Manifest(name: "two", endpoint: "/two"));
        (await Post("{}", path: "/one")).Status.ShouldBe(HttpStatusCode.OK);
        (await Post("{}", path: "/two")).Status.ShouldBe(HttpStatusCode.OK);
        (await _http.GetStringAsync(Url("/health"))).ShouldBe("OK\n");

        await _host.Store.DeleteAsync<EventSource>("ci", "one");
        await Eventually.Get(async () => (await Post("{}", path: "/one")).Status == HttpStatusCode.NotFound ? "gone" : null, "/one to be removed");
        (await Post("{}", path: "/two")).Status.ShouldBe(HttpStatusCode.OK);

        await _host.Store.DeleteAsync<EventSource>("ci", "two");
        await Eventually.Get(async () =>
        {
            try { await _http.GetAsync(Url("/health")); return null; }
            catch (HttpRequestException) { return "closed"; }
        }, "the port to close");
    }

    [Fact]
    public async Task A_taken_endpoint_fails_only_the_second_source_and_says_who_has_it()
    {
        await _host.ApplyAsync(Manifest(name: "first"));
        await _host.Store.ApplyAllAsync(ManifestReader.Read(Manifest(name: "second"), "t.yaml"));
        var listeners = await _host.WaitListeningAsync("ci", "second", allowFailed: true);
        listeners.Single().State.ShouldBe(ListenerState.Failed);
        listeners.Single().Message.ShouldBe($"port {_port} endpoint /push is already served for ci/first/push");
        (await Post("{}")).Status.ShouldBe(HttpStatusCode.OK);
        (await _host.Log.ReadAsync(0, 1)).Single().Event.Source.ShouldBe("first");
    }

    [Fact]
    public async Task A_full_log_answers_503_with_Retry_After_and_stores_nothing()
    {
        await _host.DisposeAsync();
        _host = await EventTestHost.StartAsync(configure: o => o.EventLog.MaxPendingBytes = 64);
        await _host.ApplyAsync(Manifest());
        using var resp = await _http.PostAsync(Url(), new StringContent("""{"a":1}""", Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        resp.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(1));
        (await resp.Content.ReadAsStringAsync()).ShouldStartWith("event not stored: event log is full");
        (await Count()).ShouldBe(0);
    }

    [Fact]
    public async Task Changing_the_spec_restarts_the_listener_on_the_new_endpoint()
    {
        await _host.ApplyAsync(Manifest());
        await _host.Store.ApplyAllAsync(ManifestReader.Read(Manifest(endpoint: "/moved"), "t.yaml"));
        // The port closes with the old listener and opens with the new one: refused connections are part of the wait.
        await Eventually.Get(async () =>
        {
            try { return (await Post("{}", path: "/moved")).Status == HttpStatusCode.OK ? "moved" : null; }
            catch (HttpRequestException) { return null; }
        }, "the new endpoint");
        (await Post("{}", path: "/push")).Status.ShouldBe(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// The log's storage fails (the WAL made immutable with chattr, which refuses writes even to open
    /// files, also for root): the sender gets 503 with Retry-After, and once the disk is back, events flow again.
    /// </summary>
    [Fact]
    public async Task A_failing_disk_answers_503_and_recovers_without_losing_or_inventing_events()
    {
        await _host.ApplyAsync(Manifest());
        (await Post("""{"n":1}""")).Status.ShouldBe(HttpStatusCode.OK);
        var wal = Path.Combine(_host.DataDir, "events.db-wal");
        File.Exists(wal).ShouldBeTrue();
        Chattr("+i", wal);
        try
        {
            using var resp = await _http.PostAsync(Url(), new StringContent("""{"n":2}""", Encoding.UTF8, "application/json"));
            resp.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            resp.Headers.RetryAfter.ShouldNotBeNull();
            (await resp.Content.ReadAsStringAsync()).ShouldStartWith("event not stored: event log storage failed:");
        }
        finally
        {
            Chattr("-i", wal);
        }
        (await Post("""{"n":3}""")).Status.ShouldBe(HttpStatusCode.OK);
        var bodies = (await _host.Log.ReadAsync(0, 10)).Select(e => JsonNode.Parse(e.Event.Data.Span)!["body"]!["n"]!.GetValue<int>());
        bodies.ShouldBe([1, 3]);
    }

    private static void Chattr(string flag, string path)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("chattr", [flag, path]) { RedirectStandardError = true })!;
        p.WaitForExit();
        p.ExitCode.ShouldBe(0, $"chattr {flag} {path}: {p.StandardError.ReadToEnd()}");
    }
}
