using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Server.Api;

/// <summary>`egw serve --manifests DIR` as a real process: listeners, the CLI's views, apply, and kill -9 under load.</summary>
public sealed class EventServeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-es-").FullName;
    private readonly int _eventPort = EventTestHost.FreePort();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string ManifestDir(string yaml)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "manifests")).FullName;
        File.WriteAllText(Path.Combine(dir, "sources.yaml"), yaml);
        return dir;
    }

    private string Webhook(string name, string endpoint) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: {{name}}, namespace: argo-events}
        spec:
          webhook:
            push: {port: "{{_eventPort}}", endpoint: {{endpoint}}, method: POST}
        """;

    private async Task<HttpStatusCode> Post(string path, string json)
    {
        using var resp = await _http.PostAsync($"http://127.0.0.1:{_eventPort}{path}", new StringContent(json, Encoding.UTF8, "application/json"));
        return resp.StatusCode;
    }

    private async Task WaitServing(string path) =>
        await Eventually.Get(async () =>
        {
            try { return await Post(path, """{"probe":true}""") == HttpStatusCode.OK ? "up" : null; }
            catch (HttpRequestException) { return null; }
        }, $"{path} to accept events");

    [Fact]
    public async Task Manifests_load_at_start_events_are_listed_and_apply_adds_a_source()
    {
        var dir = ManifestDir(Webhook("github-webhook", "/push"));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", dir]);
        var server = serve.BaseAddress.ToString();
        await WaitServing("/push");
        (await Post("/push", """{"ref":"refs/heads/main"}""")).ShouldBe(HttpStatusCode.OK);

        var (code, stdout, stderr) = await CliTests.Egw("events", "list", "--source", "github-webhook", "-o", "json", "-s", server);
        code.ShouldBe(0, stderr);
        var page = JsonNode.Parse(stdout)!;
        var items = page["items"]!.AsArray();
        items.Count.ShouldBe(2); // the probe and the push
        items[0]!["source"]!.GetValue<string>().ShouldBe("github-webhook");
        items[0]!["subject"]!.GetValue<string>().ShouldBe("push");
        items[0]!["namespace"]!.GetValue<string>().ShouldBe("argo-events");
        page["log"]!["count"]!.GetValue<long>().ShouldBe(2);

        var table = await CliTests.Egw("events", "list", "-s", server);
        table.Out.ShouldContain("argo-events/github-webhook  push");
        table.Out.ShouldContain("log: 2 events (sequence 1..2), retention 168h or 1000000 events");

        var get = await CliTests.Egw("eventsource", "get", "github-webhook", "-n", "argo-events", "-s", server);
        get.Code.ShouldBe(0, get.Err);
        get.Out.ShouldContain("Status:      Running");
        get.Out.ShouldMatch($@"push\s+webhook\s+Listening\s+http://:{_eventPort}/push\s+2\s");

        var detail = JsonNode.Parse((await CliTests.Egw("events", "get", "2", "-o", "json", "-s", server)).Out)!;
        detail["data"]!["body"]!["ref"]!.GetValue<string>().ShouldBe("refs/heads/main");

        // egw apply: a second source starts listening while the service runs.
        var second = Path.Combine(_dir, "second.yaml");
        File.WriteAllText(second, Webhook("second", "/second"));
        var apply = await CliTests.Egw("apply", "-f", second, "-s", server);
        apply.Code.ShouldBe(0, apply.Err);
        apply.Out.ShouldBe("eventsource/second applied\n");
        await WaitServing("/second");
        var list = await CliTests.Egw("eventsource", "list", "-n", "argo-events", "-s", server);
        list.Out.ShouldContain("second");
        list.Out.ShouldContain("github-webhook");
    }

    [Fact]
    public async Task Apply_of_a_bad_file_is_refused_with_its_location_and_applies_nothing()
    {
        await using var serve = await ServeProcess.StartAsync();
        var good = Path.Combine(_dir, "good.yaml");
        var bad = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(good, Webhook("good", "/good"));
        File.WriteAllText(bad, Webhook("bad", "/bad").Replace("method: POST", "method: POST, maxPayloadSize: -1"));
        var (code, _, stderr) = await CliTests.Egw("apply", "-f", good, "-f", bad, "-s", serve.BaseAddress.ToString());
        code.ShouldBe(2);
        stderr.ShouldBe($"error: {bad}:6: document 1 (EventSource/bad): spec.webhook.push.maxPayloadSize: must be a positive number of bytes, got -1\n");
        var list = await CliTests.Egw("eventsource", "list", "-A", "-o", "json", "-s", serve.BaseAddress.ToString());
        JsonNode.Parse(list.Out)!.AsArray().ShouldBeEmpty();
    }

    /// <summary>
    /// The contract: a 2xx means durable. A load generator posts numbered events while the service
    /// is killed with SIGKILL; after a restart every number that got a 2xx is in the log.
    /// </summary>
    [Fact]
    public async Task Every_acknowledged_event_survives_kill_9_under_load()
    {
        var dir = ManifestDir(Webhook("load", "/load"));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", dir]);
        await WaitServing("/load");

        var acked = new ConcurrentBag<int>();
        var next = 0;
        using var stop = new CancellationTokenSource();
        var killed = false;
        var senders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                try
                {
                    if (await Post("/load", $$"""{"n":{{n}}}""") == HttpStatusCode.OK) acked.Add(n);
                }
                catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or IOException or TaskCanceledException && Volatile.Read(ref killed)) { return; }
            }
        })).ToList();

        await Eventually.Get(() => Task.FromResult(acked.Count >= 400 ? "enough" : null), "400 acknowledged events");
        Volatile.Write(ref killed, true);
        serve.KillHard();
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        await serve.RestartAsync();
        using var api = serve.CreateClient();
        var items = JsonNode.Parse(await api.GetStringAsync("api/v1/events?source=load&limit=10000"))!["items"]!.AsArray();
        var logged = new HashSet<int>();
        foreach (var item in items)
        {
            var e = JsonNode.Parse(await api.GetStringAsync($"api/v1/events/{item!["sequence"]}"))!;
            if (e["data"]!["body"]!["n"] is { } n) logged.Add(n.GetValue<int>());
        }
        var lost = acked.Where(n => !logged.Contains(n)).Order().ToList();
        lost.ShouldBeEmpty($"{lost.Count} of {acked.Count} acknowledged events are missing after kill -9");
        acked.Count.ShouldBeGreaterThanOrEqualTo(400);
    }
}
