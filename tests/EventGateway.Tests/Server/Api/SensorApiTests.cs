using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.State;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model.Manifests;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Events.Sensors;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Server.Api;

/// <summary>
/// The sensor surfaces: the REST API of the whole service in process (Kestrel on 127.0.0.1) over a state store
/// filled with known decisions and dead letters, a dead letter replayed through a real http trigger, and the
/// CLI against a real `egw serve`.
/// </summary>
public sealed class SensorApiTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private readonly string _dataDir = Directory.CreateTempSubdirectory("egw-sensor-api-").FullName;
    private ApiHost _api = null!;
    private HookServer _hook = null!;

    public async Task InitializeAsync()
    {
        _hook = await HookServer.StartAsync();
        _api = await ApiHost.StartAsync(_dataDir);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _hook.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>notify: http, its URL rewritten by a trigger-level parameter from the event; build: k8s. No event in these tests matches.</summary>
    private const string CiSensor = """
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: ci, namespace: default}
        spec:
          dependencies:
            - {name: push, eventSourceName: github, eventName: push}
          triggers:
            - template:
                name: notify
                http:
                  url: http://127.0.0.1:1/not-this-one
                  method: POST
                  payload:
                    - {src: {dependencyName: push, dataKey: body.ref}, dest: ref}
              parameters:
                - {src: {dependencyName: push, dataKey: body.hook}, dest: http.url}
              policy: {status: {allow: [200]}}
            - template:
                name: build
                k8s:
                  operation: create
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: build-}
                      spec:
                        entrypoint: main
                        templates: [{name: main, container: {image: alpine, command: [echo, hi]}}]
        """;

    private async Task<ISensorStateStore> RunningCiAsync()
    {
        (await _api.Http.PostAsync("api/v1/apply", new StringContent(CiSensor, Encoding.UTF8, "application/yaml"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Eventually.Get(async () => (await SensorAsync("default", "ci"))["status"]!["phase"]!.GetValue<string>() == "Running" ? "running" : null, "sensor ci running");
        return _api.Get<ISensorStateStore>();
    }

    private async Task<JsonObject> SensorAsync(string ns, string name) => JsonNode.Parse(await _api.Http.GetStringAsync($"api/v1/sensors/{ns}/{name}"))!.AsObject();

    /// <summary>Events no sensor depends on, so the only decisions about them are the ones a test commits.</summary>
    private async Task<IReadOnlyList<long>> AppendUnwatchedAsync(int count)
    {
        var log = _api.Get<IEventLog>();
        var events = Enumerable.Range(0, count)
            .Select(i => new EventToAppend("default", new CloudEvent($"u-{i}", "gitlab", "webhook", "merge", T0, Encoding.UTF8.GetBytes("""{"body":{}}"""))))
            .ToList();
        var seqs = await log.AppendAsync(events);
        // The running sensor reads past them: its checkpoint proves it saw and ignored them.
        await Eventually.Get(async () => (await SensorAsync("default", "ci"))["status"]!["checkpoint"]?.GetValue<long>() == seqs[^1] ? "read" : null, "sensor ci past the appended events");
        return seqs;
    }

    private static Decision D(long seq, string trigger, string outcome, string? reason = null, string sensor = "default/ci", DateTimeOffset? at = null) =>
        new(seq, sensor, trigger, outcome, reason ?? $"{outcome} because", at ?? T0);

    [Fact]
    public async Task Sensors_show_phase_checkpoint_and_durable_counts_per_trigger_and_post_and_delete_still_work()
    {
        var state = await RunningCiAsync();
        var seqs = await AppendUnwatchedAsync(3);
        var batch = new SensorBatch("default/ci");
        batch.Decisions.AddRange([
            D(seqs[0], "", Outcomes.Passed), D(seqs[0], "notify", Outcomes.RateLimited), D(seqs[0], "notify", Outcomes.Triggered),
            D(seqs[1], "", Outcomes.Filtered),
            D(seqs[2], "", Outcomes.Passed), D(seqs[2], "notify", Outcomes.Duplicate),
        ]);
        state.Commit(batch);

        var ci = await SensorAsync("default", "ci");
        ci["spec"]!["triggers"]!.AsArray().Count.ShouldBe(2);
        var status = ci["status"]!.AsObject();
        status.Select(kv => kv.Key).ShouldBe(["phase", "message", "checkpoint", "lastEventAt", "restarts", "triggers", "dependencies"]);
        status["phase"]!.GetValue<string>().ShouldBe("Running");
        status["message"].ShouldBeNull();
        status["checkpoint"]!.GetValue<long>().ShouldBe(seqs[^1]);
        status["restarts"]!.GetValue<int>().ShouldBe(0);
        status["dependencies"]!.ToJsonString().ShouldBe("""{"passed":2,"filtered":1}""");
        var triggers = status["triggers"]!.AsArray();
        triggers.Select(t => $"{t!["name"]}/{t["kind"]}").ShouldBe(["notify/http", "build/k8s"]);
        triggers[0]!["counts"]!.ToJsonString().ShouldBe(
            """{"passed":0,"filtered":0,"waiting":0,"duplicate":1,"rate-limited":1,"triggered":1,"failed":0,"dead-lettered":0}""");
        triggers[1]!["counts"]!.AsObject().Select(kv => kv.Value!.GetValue<long>()).ShouldAllBe(n => n == 0);

        // A Sensor the service cannot run says so in its phase and message; "-" lists every namespace.
        var refused = TriggerTestKit.Sensor(CiSensor.Replace("name: ci, namespace: default", "name: chat, namespace: team")
            .Replace("http:\n", "slack:\n"));
        await _api.Get<IResourceStore>().ApplyAsync(refused);
        var chat = await Eventually.Get(async () => (await SensorAsync("team", "chat"))["status"] is { } s && s["phase"]!.GetValue<string>() == "Refused" ? s : null, "chat refused");
        chat["message"]!.GetValue<string>().ShouldContain("spec.triggers[0].template.slack: trigger type 'slack' is not supported here");
        var all = JsonNode.Parse(await _api.Http.GetStringAsync("api/v1/sensors/-"))!["items"]!.AsArray();
        all.Select(s => $"{s!["metadata"]!["namespace"]}/{s["metadata"]!["name"]}").Order().ShouldBe(["default/ci", "team/chat"]);
        JsonNode.Parse(await _api.Http.GetStringAsync("api/v1/sensors/team"))!["items"]!.AsArray().Count.ShouldBe(1);

        // POST and DELETE of sensors are served by the same owner as GET.
        var body = new JsonObject { ["sensor"] = JsonNode.Parse(JsonSerializer.Serialize(TriggerTestKit.Sensor(CiSensor.Replace("name: ci,", "name: cd,")), Json.Options)) };
        (await _api.Http.PostAsync("api/v1/sensors/default", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _api.Http.PostAsync("api/v1/sensors/default", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var bad = await _api.Http.PostAsync("api/v1/sensors/default", new StringContent(body.ToJsonString().Replace("\"dependencies\"", "\"dependencys\""), Encoding.UTF8, "application/json"));
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadAsStringAsync()).ShouldContain("spec.dependencys");
        (await _api.Http.DeleteAsync("api/v1/sensors/default/cd")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _api.Http.GetAsync("api/v1/sensors/default/cd")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await _api.Http.DeleteAsync("api/v1/sensors/default/cd")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_event_shows_its_path_in_pipeline_order_and_list_rows_sum_it_up_in_one_word()
    {
        var state = await RunningCiAsync();
        var s = await AppendUnwatchedAsync(5);
        var batch = new SensorBatch("default/ci");
        // All in one millisecond, as one pass records them: the path still comes out in pipeline order.
        batch.Decisions.AddRange([
            D(s[0], "notify", Outcomes.Triggered, "POST http://x → 200"), D(s[0], "notify", Outcomes.RateLimited, "waited 1s"), D(s[0], "", Outcomes.Passed, "matched push"),
            D(s[1], "", Outcomes.Filtered, "push: data filter body.ref"),
            D(s[2], "", Outcomes.Passed), D(s[2], "notify", Outcomes.Duplicate, "dedup key 'k' already fired"),
            D(s[3], "notify", Outcomes.DeadLettered), D(s[3], "notify", Outcomes.Failed), D(s[3], "", Outcomes.Passed),
        ]);
        state.Commit(batch);
        var audit = new SensorBatch("default/audit");
        audit.Decisions.Add(D(s[2], "", Outcomes.Filtered, sensor: "default/audit"));
        state.Commit(audit);

        var e0 = JsonNode.Parse(await _api.Http.GetStringAsync($"api/v1/events/{s[0]}"))!;
        e0["outcome"]!.GetValue<string>().ShouldBe("triggered");
        e0["data"]!["body"].ShouldNotBeNull();
        e0["path"]!.ToJsonString().ShouldBe(new JsonArray(
            Step("default/ci", "", "passed", "matched push"), Step("default/ci", "notify", "rate-limited", "waited 1s"),
            Step("default/ci", "notify", "triggered", "POST http://x → 200")).ToJsonString());
        var e3 = JsonNode.Parse(await _api.Http.GetStringAsync($"api/v1/events/{s[3]}"))!;
        e3["path"]!.AsArray().Select(p => p!["outcome"]!.GetValue<string>()).ShouldBe(["passed", "failed", "dead-lettered"]);
        JsonNode.Parse(await _api.Http.GetStringAsync($"api/v1/events/{s[4]}"))!["path"]!.AsArray().ShouldBeEmpty();

        var rows = JsonNode.Parse(await _api.Http.GetStringAsync("api/v1/events?source=gitlab"))!["items"]!.AsArray();
        rows.Select(r => (r!["sequence"]!.GetValue<long>(), r["outcome"]!.GetValue<string>())).ShouldBe(
            [(s[4], "logged"), (s[3], "dead-lettered"), (s[2], "duplicate"), (s[1], "filtered"), (s[0], "triggered")]); // newest first
        rows.ShouldAllBe(r => r!["outcomes"] == null && r["path"] == null);
    }

    private static JsonObject Step(string sensor, string trigger, string outcome, string reason) =>
        new() { ["sensor"] = sensor, ["trigger"] = trigger, ["outcome"] = outcome, ["reason"] = reason, ["time"] = T0.ToString("O") };

    [Fact]
    public async Task Metrics_expose_durable_sensor_counts_gauges_and_the_log_with_escaped_labels_and_survive_a_restart()
    {
        var state = await RunningCiAsync();
        var s = await AppendUnwatchedAsync(2);
        var batch = new SensorBatch("default/ci");
        batch.Decisions.AddRange([
            D(s[0], "", Outcomes.Passed), D(s[1], "", Outcomes.Passed), D(s[0], "notify", Outcomes.Triggered),
            D(s[1], "odd\"name\\with\nnewline", Outcomes.Failed),
        ]);
        state.Commit(batch);
        var gone = new SensorBatch("default/deleted");
        gone.Decisions.Add(D(s[0], "", Outcomes.Passed, sensor: "default/deleted"));
        state.Commit(gone);

        // The families this test is about, each with its HELP, TYPE and samples (sorted: the library's order is its own).
        string[] families = ["eventgateway_sensor_events_total", "eventgateway_sensor_workflows_running", "eventgateway_sensor_workflows_max",
            "eventgateway_eventlog_events", "eventgateway_eventlog_pending", "eventgateway_custom_metric_errors_total"];
        async Task<string> Scrape()
        {
            using var resp = await _api.Http.GetAsync("metrics");
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
            resp.Content.Headers.ContentType!.ToString().ShouldBe("text/plain; version=0.0.4; charset=utf-8");
            var text = await resp.Content.ReadAsStringAsync();
            // The controller's counters depend on what it did meanwhile: present and numeric, compared apart.
            foreach (var family in new[] { "reconciles_total", "reconcile_seconds_total", "step_results_total", "status_saves_total", "workflows_completed_total" })
                text.ShouldMatch($@"(?m)^# TYPE eventgateway_controller_{family} counter\neventgateway_controller_{family} [0-9.eE+-]+$");
            var lines = text.Split('\n');
            return string.Join("", families.Select(f =>
                string.Join("", lines.Where(l => l.StartsWith("# HELP " + f + " ", StringComparison.Ordinal) || l.StartsWith("# TYPE " + f + " ", StringComparison.Ordinal)).Select(l => l + "\n"))
                + string.Join("", lines.Where(l => l.StartsWith(f + " ", StringComparison.Ordinal) || l.StartsWith(f + "{", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(l => l + "\n"))));
        }

        var expected = """
            # HELP eventgateway_sensor_events_total Events through each sensor stage by outcome; trigger="" is the dependency stage (passed or filtered).
            # TYPE eventgateway_sensor_events_total counter
            eventgateway_sensor_events_total{sensor="default/ci",trigger="",outcome="passed"} 2
            eventgateway_sensor_events_total{sensor="default/ci",trigger="notify",outcome="triggered"} 1
            eventgateway_sensor_events_total{sensor="default/ci",trigger="odd\"name\\with\nnewline",outcome="failed"} 1
            # HELP eventgateway_sensor_workflows_running Workflows created by sensors that have not completed yet.
            # TYPE eventgateway_sensor_workflows_running gauge
            eventgateway_sensor_workflows_running 0
            # HELP eventgateway_sensor_workflows_max Cap on unfinished sensor workflows; further firings wait in the event log.
            # TYPE eventgateway_sensor_workflows_max gauge
            eventgateway_sensor_workflows_max 100
            # HELP eventgateway_eventlog_events Events held in the durable event log.
            # TYPE eventgateway_eventlog_events gauge
            eventgateway_eventlog_events 2
            # HELP eventgateway_eventlog_pending Events accepted into the write queue and not yet durable.
            # TYPE eventgateway_eventlog_pending gauge
            eventgateway_eventlog_pending 0
            # HELP eventgateway_custom_metric_errors_total Custom metric definitions that could not be recorded (see the service log for why).
            # TYPE eventgateway_custom_metric_errors_total counter
            eventgateway_custom_metric_errors_total 0

            """;
        (await Scrape()).ShouldBe(expected); // the deleted sensor's history is kept but not exposed

        await _api.DisposeAsync();
        _api = await ApiHost.StartAsync(_dataDir);
        (await Scrape()).ShouldBe(expected);
    }


    [Fact]
    public async Task A_dead_letter_replays_through_its_http_trigger_once_and_its_path_then_ends_in_triggered()
    {
        var state = await RunningCiAsync();
        var s = await AppendUnwatchedAsync(1);
        var push = new CloudEvent("gh-1", "github", "webhook", "push", T0, Encoding.UTF8.GetBytes($$$"""{"body":{"ref":"main","hook":"{{{_hook.Url}}}/hook"}}"""));
        var events = new Dictionary<string, CloudEvent> { ["push"] = push };
        var batch = new SensorBatch("default/ci");
        batch.Decisions.AddRange([D(s[0], "", Outcomes.Passed), D(s[0], "notify", Outcomes.Failed), D(s[0], "notify", Outcomes.DeadLettered)]);
        batch.DeadLetters.Add(new DeadLetter(0, "default/ci", "notify", "key-1", [s[0]], events, "POST http://127.0.0.1:1/ failed: Connection refused", T0, null, null));
        batch.DeadLetters.Add(new DeadLetter(0, "default/ci", "renamed", "key-2", [s[0]], events, "boom", T0, null, null));
        batch.DeadLetters.Add(new DeadLetter(0, "default/ci", "notify", "key-3", [s[0]], events, "boom", T0, null, null));
        // key-3 fired since it was dead-lettered (a redelivery): replaying it would fire twice.
        batch.Firings.Add(new FiringRecord("default/ci", "notify", "key-3", [s[0]], T0.AddSeconds(1), Outcomes.Triggered, "POST x → 200"));
        state.Commit(batch);

        var listed = await DeadLettersAsync("");
        listed.Select(d => d!["dedupKey"]!.GetValue<string>()).ShouldBe(["key-3", "key-2", "key-1"]); // newest first
        var first = listed[2]!;
        first["sensor"]!.GetValue<string>().ShouldBe("default/ci");
        first["trigger"]!.GetValue<string>().ShouldBe("notify");
        first["sequences"]!.ToJsonString().ShouldBe($"[{s[0]}]");
        first["error"]!.GetValue<string>().ShouldContain("Connection refused");
        first["replayedAt"].ShouldBeNull();
        first["events"]!["push"]!["id"]!.GetValue<string>().ShouldBe("gh-1");
        var id = first["id"]!.GetValue<long>();
        (await DeadLettersAsync("?sensor=default/other")).ShouldBeEmpty();
        (await DeadLettersAsync("?sensor=default/ci")).Count.ShouldBe(3);
        await ShouldFail("api/v1/dead-letters?sensor=ci", HttpStatusCode.BadRequest, "sensor must be namespace/name, got 'ci'");
        await ShouldFail("api/v1/dead-letters?all=yes", HttpStatusCode.BadRequest, "all must be true or false, got 'yes'");

        // The endpoint still fails: the replay says so and the dead letter stays listed.
        _hook.Status = 500;
        var failed = await ReplayAsync(id.ToString(), HttpStatusCode.OK);
        failed["outcome"]!.GetValue<string>().ShouldBe("failed");
        failed["detail"]!.GetValue<string>().ShouldBe($"POST {_hook.Url}/hook → 500, not in policy.status.allow [200]");
        (await DeadLettersAsync("")).Count.ShouldBe(3);

        _hook.Status = 200;
        var ok = await ReplayAsync(id.ToString(), HttpStatusCode.OK);
        ok["outcome"]!.GetValue<string>().ShouldBe("triggered");
        ok["detail"]!.GetValue<string>().ShouldBe($"POST {_hook.Url}/hook → 200");
        // The trigger-level parameter chose the URL; the payload came from the stored event.
        _hook.Requests.Select(r => $"{r.Path} {r.Body}").ShouldBe(["/hook {\"ref\":\"main\"}", "/hook {\"ref\":\"main\"}"]);

        (await ReplayAsync(id.ToString(), HttpStatusCode.Conflict))["message"]!.GetValue<string>().ShouldContain("already replayed");
        _hook.Requests.Count.ShouldBe(2);
        (await ReplayAsync("999", HttpStatusCode.NotFound))["message"]!.GetValue<string>().ShouldBe("dead letter 999 not found");
        (await ReplayAsync("x", HttpStatusCode.BadRequest))["message"]!.GetValue<string>().ShouldBe("dead letter id must be a number, got 'x'");
        var renamed = listed[1]!["id"]!.GetValue<long>();
        (await ReplayAsync(renamed.ToString(), HttpStatusCode.NotFound))["message"]!.GetValue<string>()
            .ShouldBe($"dead letter {renamed}: sensor default/ci has no trigger 'renamed' any more (spec.triggers[].template.name)");
        var refired = listed[0]!["id"]!.GetValue<long>();
        (await ReplayAsync(refired.ToString(), HttpStatusCode.Conflict))["message"]!.GetValue<string>().ShouldContain("dedup key 'key-3' already fired");
        _hook.Requests.Count.ShouldBe(2);

        (await DeadLettersAsync("")).Select(d => d!["id"]!.GetValue<long>()).ShouldBe([renamed]);
        var history = (await DeadLettersAsync("?all=true")).ToDictionary(d => d!["id"]!.GetValue<long>());
        history[id]!["replayOutcome"]!.GetValue<string>().ShouldBe($"triggered: POST {_hook.Url}/hook → 200");
        history[id]!["replayedAt"].ShouldNotBeNull();
        history[refired]!["replayOutcome"]!.GetValue<string>().ShouldStartWith("duplicate: dedup key 'key-3' already fired");

        var e = JsonNode.Parse(await _api.Http.GetStringAsync($"api/v1/events/{s[0]}"))!;
        e["outcome"]!.GetValue<string>().ShouldBe("triggered");
        var last = e["path"]!.AsArray()[^1]!;
        last["outcome"]!.GetValue<string>().ShouldBe("triggered");
        last["reason"]!.GetValue<string>().ShouldBe($"replayed dead letter {id}: POST {_hook.Url}/hook → 200");
        (await SensorAsync("default", "ci"))["status"]!["triggers"]![0]!["counts"]!["triggered"]!.GetValue<long>().ShouldBe(1);
        // The replayed firing is in the dedup store: the same events arriving again are a duplicate.
        state.FindFiring("default/ci", "notify", "key-1", T0)!.Outcome.ShouldBe(Outcomes.Triggered);
    }

    private async Task<JsonArray> DeadLettersAsync(string query) =>
        JsonNode.Parse(await _api.Http.GetStringAsync($"api/v1/dead-letters{query}"))!["items"]!.AsArray();

    private async Task<JsonObject> ReplayAsync(string id, HttpStatusCode expected)
    {
        using var resp = await _api.Http.PostAsync($"api/v1/dead-letters/{id}/replay", null);
        var text = await resp.Content.ReadAsStringAsync();
        resp.StatusCode.ShouldBe(expected, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private async Task ShouldFail(string path, HttpStatusCode status, string message)
    {
        using var resp = await _api.Http.GetAsync(path);
        resp.StatusCode.ShouldBe(status);
        JsonNode.Parse(await resp.Content.ReadAsStringAsync())!["message"]!.GetValue<string>().ShouldBe(message);
    }

    /// <summary>
    /// `egw sensor list`, `egw dlq list` and `egw events get` against a real `egw serve`: counts and a dead letter
    /// recorded before it started, and one real event that the sensor's filter stops.
    /// </summary>
    [Fact]
    public async Task The_cli_lists_sensors_and_dead_letters_and_shows_an_events_path()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dataDir, "cli")).FullName; // removed with the class's data
        var port = EventTestHost.FreePort();
        var manifests = Directory.CreateDirectory(Path.Combine(dir, "manifests")).FullName;
        File.WriteAllText(Path.Combine(manifests, "ci.yaml"), $$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: github, namespace: argo-events}
            spec:
              webhook:
                push: {port: "{{{port}}}", endpoint: /push, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: ci, namespace: argo-events}
            spec:
              dependencies:
                - name: push
                  eventSourceName: github
                  eventName: push
                  filters:
                    data: [{path: body.ref, type: string, value: ["refs/heads/release"]}]
              triggers:
                - template:
                    name: build
                    k8s:
                      operation: create
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: build-}
                          spec:
                            entrypoint: main
                            templates: [{name: main, container: {image: alpine, command: [echo, hi]}}]
            """);
        var data = Directory.CreateDirectory(Path.Combine(dir, "data")).FullName;
        using (var state = new SqliteSensorStateStore(Path.Combine(data, "sensors.db")))
        {
            var batch = new SensorBatch("argo-events/ci");
            batch.Decisions.AddRange([
                D(1001, "", Outcomes.Passed, sensor: "argo-events/ci"), D(1001, "build", Outcomes.Triggered, sensor: "argo-events/ci"),
                D(1002, "", Outcomes.Passed, sensor: "argo-events/ci"), D(1002, "build", Outcomes.Failed, sensor: "argo-events/ci"),
            ]);
            batch.DeadLetters.Add(new DeadLetter(0, "argo-events/ci", "build", "key-9", [1002], new Dictionary<string, CloudEvent>(), "workflow store unavailable", T0, null, null));
            state.Commit(batch);
        }
        await using var serve = await ServeProcess.StartAsync(data, null, "--manifests", manifests);
        var server = serve.BaseAddress.ToString();

        var ci = await Eventually.Get(async () =>
        {
            var (code, stdout, stderr) = await CliTests.Egw("sensor", "list", "-A", "-o", "json", "-s", server);
            code.ShouldBe(0, stderr);
            return JsonNode.Parse(stdout)!.AsArray().SingleOrDefault(s => s!["status"]!["phase"]!.GetValue<string>() == "Running");
        }, "sensor ci running");
        ci!["metadata"]!["name"]!.GetValue<string>().ShouldBe("ci");
        ci["status"]!["triggers"]![0]!["counts"]!["triggered"]!.GetValue<long>().ShouldBe(1);
        ci["status"]!["triggers"]![0]!["counts"]!["failed"]!.GetValue<long>().ShouldBe(1);
        ci["status"]!["dependencies"]!["passed"]!.GetValue<long>().ShouldBe(2);

        var table = await CliTests.Egw("sensor", "list", "-n", "argo-events", "-s", server);
        table.Code.ShouldBe(0, table.Err);
        table.Out.ShouldMatch(@"NAMESPACE\s+NAME\s+STATUS\s+DEPENDENCIES\s+TRIGGERS\s+TRIGGERED\s+FILTERED\s+DUPLICATE\s+FAILED\s+LAST EVENT");
        table.Out.ShouldMatch(@"argo-events\s+ci\s+Running\s+push\s+build\(k8s\)\s+1\s+0\s+0\s+1");

        var dlq = await CliTests.Egw("dlq", "list", "-s", server);
        dlq.Code.ShouldBe(0, dlq.Err);
        dlq.Out.ShouldMatch(@"ID\s+SENSOR\s+TRIGGER\s+EVENTS\s+AGE\s+REPLAYED\s+ERROR");
        dlq.Out.ShouldMatch(@"\n1\s+argo-events/ci\s+build\s+#1002\s+\S+\s+workflow store unavailable\n");
        var bad = await CliTests.Egw("dlq", "list", "--sensor", "ci", "-s", server);
        bad.Code.ShouldBe(2);
        bad.Err.ShouldBe("error: sensor must be namespace/name, got 'ci'\n");
        var missing = await CliTests.Egw("dlq", "replay", "99", "-s", server);
        missing.Code.ShouldBe(1);
        missing.Err.ShouldBe("error: dead letter 99 not found\n");

        // One real event, stopped by the sensor's filter: its path says where and why.
        using var http = new HttpClient();
        await Eventually.Get(async () =>
        {
            try
            {
                using var resp = await http.PostAsync($"http://127.0.0.1:{port}/push", new StringContent("""{"ref":"refs/heads/main"}""", Encoding.UTF8, "application/json"));
                return resp.StatusCode == HttpStatusCode.OK ? "sent" : null;
            }
            catch (HttpRequestException) { return null; }
        }, "the webhook to take the event");
        var seq = JsonNode.Parse((await CliTests.Egw("events", "list", "-o", "json", "-s", server)).Out)!["items"]![0]!["sequence"]!.GetValue<long>();
        var get = await Eventually.Get(async () =>
        {
            var r = await CliTests.Egw("events", "get", seq.ToString(), "-s", server);
            return r.Out.Contains("SENSOR", StringComparison.Ordinal) ? r.Out : null;
        }, "the event's path");
        get.ShouldContain("outcome:          filtered");
        get.ShouldMatch(@"SENSOR\s+TRIGGER\s+OUTCOME\s+REASON\s+TIME");
        get.ShouldMatch(@"argo-events/ci\s+-\s+filtered\s+push: .*refs/heads/main");
        var json = JsonNode.Parse((await CliTests.Egw("events", "get", seq.ToString(), "-o", "json", "-s", server)).Out)!;
        json["path"]![0]!["outcome"]!.GetValue<string>().ShouldBe("filtered");
    }

    /// <summary>The service as `egw serve` builds it, in process, with the REST API on a free loopback port.</summary>
    private sealed class ApiHost : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private ApiHost(WebApplication app)
        {
            _app = app;
            Http = new HttpClient { BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EventGateway.Server.Security.AdminTokenFile.LoadOrCreate(app.Services.GetRequiredService<EventGatewayOptions>().DataDir).Token);
        }

        public HttpClient Http { get; }
        public T Get<T>() where T : notnull => _app.Services.GetRequiredService<T>();

        public static async Task<ApiHost> StartAsync(string dataDir)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log")));
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Services.AddEventGateway(new EventGatewayOptions { DataDir = dataDir, EventListenAddress = "127.0.0.1" });
            // The http trigger, whether or not the service registers it yet (once it does, this adds nothing).
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITrigger, HttpTrigger>());
            var app = builder.Build();
            app.MapEventGatewayApi();
            await app.StartAsync();
            return new ApiHost(app);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>A webhook receiver on 127.0.0.1 that records every request and answers with <see cref="Status"/>.</summary>
    private sealed class HookServer : IAsyncDisposable
    {
        public sealed record Request(string Path, string Body);

        private readonly WebApplication _app;
        private readonly Lock _gate = new();
        private readonly List<Request> _requests = [];

        private HookServer(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";
        public int Status { get; set; } = 200;

        public IReadOnlyList<Request> Requests
        {
            get { lock (_gate) return _requests.ToList(); }
        }

        public static async Task<HookServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var server = new HookServer(app);
            app.Run(server.HandleAsync);
            await app.StartAsync();
            server.Url = app.Urls.First().TrimEnd('/');
            return server;
        }

        private async Task HandleAsync(HttpContext context)
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            lock (_gate) _requests.Add(new Request(context.Request.Path, body));
            context.Response.StatusCode = Status;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
