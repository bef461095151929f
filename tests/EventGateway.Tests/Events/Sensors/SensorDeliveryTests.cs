using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.Sensors.State;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>Floods and crashes: the rate limit holds over a burst without losing events, and kill -9 mid-burst neither loses nor duplicates runs.</summary>
public sealed class SensorDeliveryTests
{
    [Fact]
    public async Task A_burst_of_200_against_5_per_second_never_exceeds_the_limit_and_all_fire_in_order()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var received = new ConcurrentQueue<(int N, DateTimeOffset At)>();
        var receiverPort = EventTestHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{receiverPort}");
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest req) =>
        {
            var body = await JsonNode.ParseAsync(req.Body);
            received.Enqueue((int.Parse(body!["n"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture), time.GetUtcNow()));
            return Results.Ok();
        });
        await receiver.StartAsync();

        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(time, pipeline: true);
        await host.ApplyAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: burst}
            spec:
              webhook:
                in: {port: "{{port}}", endpoint: /in, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: limited}
            spec:
              dependencies:
                - {name: e, eventSourceName: burst, eventName: in}
              triggers:
                - template:
                    name: notify
                    http:
                      url: http://127.0.0.1:{{receiverPort}}/hook
                      method: POST
                      payload:
                        - src: {dependencyName: e, dataKey: body.n}
                          dest: n
                  rateLimit: {unit: Second, requestsPerUnit: 5}
            """);

        using var http = new HttpClient();
        for (var n = 1; n <= 200; n++)
        {
            using var resp = await http.PostAsync($"http://127.0.0.1:{port}/in", new StringContent($$"""{"n":{{n}}}""", Encoding.UTF8, "application/json"));
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        // The clock moves only while the sensor waits for its limiter and every firing so far has arrived, so the
        // receiver's timestamps are the firing times.
        long Triggered() => host.Sensors.State.Counters("default/limited").GetValueOrDefault("notify")?.GetValueOrDefault(Outcomes.Triggered) ?? 0;
        await Eventually.Get(() => Task.FromResult(received.Count >= 200 ? "all" : null), "200 firings", TimeSpan.FromMinutes(2), eachPoll: () =>
        {
            if (host.Sensors.StatusOf("default", "limited")?.State == EventGateway.Events.Sensors.SensorState.Waiting && received.Count == Triggered())
                time.Advance(TimeSpan.FromMilliseconds(100));
        });

        var fired = received.ToList();
        fired.Select(f => f.N).ShouldBe(Enumerable.Range(1, 200), "every event fired once, in log order");
        for (var i = 0; i + 5 < fired.Count; i++)
            (fired[i + 5].At - fired[i].At).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1), $"firings {i + 1}..{i + 6} fell within one second");
        (fired[^1].At - fired[0].At).ShouldBeLessThan(TimeSpan.FromSeconds(41), "the limiter lets 5 through every second, not fewer");
        var counts = await Eventually.Get(() => Task.FromResult(
            host.Sensors.State.Counters("default/limited").GetValueOrDefault("notify") is { } c && c.GetValueOrDefault(Outcomes.Triggered) == 200 ? c : null), "counters");
        // Each window of 5 begins with one firing that waited for the oldest of the previous 5 to leave the window.
        counts[Outcomes.RateLimited].ShouldBeGreaterThanOrEqualTo(200 / 5 - 1);
    }

    [Fact]
    public async Task ConditionsReset_byTime_forgets_a_half_met_condition_at_the_cron_tick()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 10, 0, 30, TimeSpan.Zero));
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(time, pipeline: true);
        await host.ApplyAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: pair}
            spec:
              webhook:
                a: {port: "{{port}}", endpoint: /a, method: POST}
                b: {port: "{{port}}", endpoint: /b, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: both}
            spec:
              dependencies:
                - {name: a, eventSourceName: pair, eventName: a}
                - {name: b, eventSourceName: pair, eventName: b}
              triggers:
                - template:
                    name: joined
                    conditions: "a && b"
                    conditionsReset:
                      - byTime: {cron: "0 11 * * *", timezone: UTC}
                    log: {}
            """);
        using var http = new HttpClient();
        async Task<long> Post(string path)
        {
            using var resp = await http.PostAsync($"http://127.0.0.1:{port}{path}", new StringContent("{}", Encoding.UTF8, "application/json"));
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
            var logged = await host.Log.QueryAsync(new EventGateway.Events.Log.EventQuery(Source: "pair", Limit: 1));
            var seq = logged.Single().Sequence;
            await Eventually.Get(() => Task.FromResult(host.Sensors.State.DecisionsFor([seq]).FirstOrDefault(d => d.Trigger == "joined")), $"event {seq} decided");
            return seq;
        }
        Outcomes.Waiting.ShouldBe(host.Sensors.State.DecisionsFor([await Post("/a")]).Single(d => d.Trigger == "joined").Outcome);

        time.Advance(TimeSpan.FromMinutes(60)); // 11:00:30: the reset at 11:00 has passed
        await Eventually.Get(() => Task.FromResult(host.Sensors.State.LoadPartial("default/both").GetValueOrDefault("joined") is null or { Count: 0 } ? "reset" : null), "the partial state cleared");

        var afterReset = host.Sensors.State.DecisionsFor([await Post("/b")]).Single(d => d.Trigger == "joined");
        afterReset.Outcome.ShouldBe(Outcomes.Waiting);
        afterReset.Reason!.ShouldEndWith("missing a");
        var fired = host.Sensors.State.DecisionsFor([await Post("/a")]).Single(d => d.Trigger == "joined");
        fired.Outcome.ShouldBe(Outcomes.Triggered);
    }

    [Fact]
    public async Task The_workflow_cap_queues_firings_until_a_running_workflow_completes()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(pipeline: true, configure: o => o.Sensors.MaxRunningWorkflows = 1);
        await host.ApplyAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: flood}
            spec:
              webhook:
                in: {port: "{{{port}}}", endpoint: /in, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: capped}
            spec:
              dependencies:
                - {name: e, eventSourceName: flood, eventName: in}
              triggers:
                - template:
                    name: run
                    k8s:
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: capped-}
                          spec:
                            entrypoint: main
                            templates:
                              - {name: main, container: {image: alpine, command: [sh, -c, "sleep 0.3"]}}
            """);

        using var http = new HttpClient();
        for (var n = 1; n <= 3; n++)
        {
            using var resp = await http.PostAsync($"http://127.0.0.1:{port}/in", new StringContent($$"""{"n":{{n}}}""", Encoding.UTF8, "application/json"));
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var workflows = (await host.WaitWorkflowsCompletedAsync(3)).OrderBy(w => w.Status!.StartedAt).ToList();
        workflows.Count.ShouldBe(3);
        for (var i = 1; i < workflows.Count; i++)
            workflows[i].Metadata.CreationTimestamp!.Value.ShouldBeGreaterThanOrEqualTo(workflows[i - 1].Status!.FinishedAt!.Value,
                "a workflow was created while the previous one still ran, past the cap of 1");
    }

    /// <summary>
    /// Senders post numbered events (dedup key body.n) while `egw serve` is killed with SIGKILL mid-burst, then
    /// resend what was not acknowledged, as GitHub would. Every number ends up with exactly one Succeeded workflow.
    /// </summary>
    [Fact]
    public async Task Killing_the_service_mid_burst_loses_nothing_and_duplicates_nothing()
    {
        const int total = 60;
        var port = EventTestHost.FreePort();
        var dir = Directory.CreateTempSubdirectory("egw-manifests-").FullName;
        File.WriteAllText(Path.Combine(dir, "pipeline.yaml"), $$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: jobs}
            spec:
              webhook:
                in: {port: "{{{port}}}", endpoint: /in, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata:
              name: runner
              annotations: {eventgateway.io/dedup-key: body.n}
            spec:
              dependencies:
                - {name: job, eventSourceName: jobs, eventName: in}
              triggers:
                - template:
                    name: run
                    argoWorkflow:
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: job-}
                          spec:
                            entrypoint: main
                            arguments: {parameters: [{name: n}]}
                            templates:
                              - name: main
                                inputs: {parameters: [{name: n}]}
                                container: {image: alpine, command: [echo, "{{inputs.parameters.n}}"]}
                      parameters:
                        - src: {dependencyName: job, dataKey: body.n}
                          dest: spec.arguments.parameters.0.value
            """);
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", dir]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<bool> Send(int n)
        {
            try
            {
                using var resp = await http.PostAsync($"http://127.0.0.1:{port}/in", new StringContent($$"""{"n":{{n}}}""", Encoding.UTF8, "application/json"));
                return resp.StatusCode == HttpStatusCode.OK;
            }
            // A kill mid-connect can surface as a bare SocketException/IOException rather than HttpRequestException.
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException or IOException) { return false; }
        }
        await Eventually.Get(async () => await Send(0) ? "up" : null, "webhook listening");

        var acked = new ConcurrentDictionary<int, bool>();
        var next = 0;
        var killed = 0;
        var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) <= total)
            {
                if (await Send(n)) acked[n] = true;
                // The sender that sees a third acknowledged kills the service while the others are mid-request.
                if (acked.Count >= total / 3 && Interlocked.Exchange(ref killed, 1) == 0) serve.KillHard();
            }
        })).ToList();
        await Task.WhenAll(senders);
        acked.Count.ShouldBeLessThan(total, "the kill landed mid-burst");

        await serve.RestartAsync();
        await Eventually.Get(async () => await Send(0) ? "up" : null, "webhook listening again");
        foreach (var n in Enumerable.Range(1, total).Where(n => !acked.ContainsKey(n)))
            (await Send(n)).ShouldBeTrue($"resend of {n}");

        using var api = serve.CreateClient();
        var workflows = await Eventually.Get(async () =>
        {
            var items = JsonNode.Parse(await api.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray();
            return items.Count >= total + 1 && items.All(w => w!["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed" or "Error") ? items : null;
        }, $"{total + 1} completed workflows", TimeSpan.FromMinutes(3));
        var numbers = workflows.Select(w => w!["spec"]!["arguments"]!["parameters"]![0]!["value"]!.ToString()).ToList();
        numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ShouldBeEmpty("numbers with more than one workflow");
        numbers.Order().ShouldBe(Enumerable.Range(0, total + 1).Select(i => i.ToString()).Order());
        workflows.ShouldAllBe(w => w!["status"]!["phase"]!.GetValue<string>() == "Succeeded");
    }
}
