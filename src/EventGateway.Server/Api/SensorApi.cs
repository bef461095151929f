using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EventGateway.Events.Sensors;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Api;

/// <summary>
/// The sensor side of the REST API: Sensors with their live status and durable per-trigger counts, the
/// dead-letter list and its replay, and the Prometheus text endpoint.
/// </summary>
public static class SensorApi
{
    private const string Resource = "sensors.argoproj.io";

    public static IEndpointRouteBuilder MapSensorApi(this IEndpointRouteBuilder app)
    {
        var sensors = app.MapGroup("/api/v1/sensors/{ns}");
        sensors.MapGet("", async (string ns, IResourceStore store, SensorHost host, CancellationToken ct) =>
        {
            var items = new JsonArray();
            foreach (var s in await store.ListAsync<Sensor>(ns == "-" ? null : ns, ct)) items.Add(WithStatus(s, host));
            return Json(new JsonObject { ["metadata"] = new JsonObject(), ["items"] = items });
        });
        sensors.MapGet("/{name}", async (string ns, string name, IResourceStore store, SensorHost host, CancellationToken ct) =>
            await store.GetAsync<Sensor>(ns, name, ct) is { } s ? Json(WithStatus(s, host)) : ApiErrors.NotFound($"{Resource} \"{name}\""));
        sensors.MapPost("", async (string ns, HttpRequest req, IResourceStore store, CancellationToken ct) =>
        {
            if (ns == "-") return ApiErrors.Invalid("namespace '-' means every namespace; create a Sensor in one namespace");
            var (body, error) = await WorkflowApi.ReadEnvelopeAsync(req, "sensor", ct);
            if (error is not null) return error;
            try
            {
                var s = WorkflowApi.InNamespace(WorkflowApi.Single<Sensor>(body!, "sensor"), ns, "sensor");
                return WorkflowApi.Ok(await store.CreateAsync(s, ct));
            }
            catch (ManifestException e) { return ApiErrors.Invalid(e); }
            catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
        });
        sensors.MapDelete("/{name}", async (string ns, string name, IResourceStore store, CancellationToken ct) =>
            await store.DeleteAsync<Sensor>(ns, name, ct) ? Results.Json(new { }) : ApiErrors.NotFound($"{Resource} \"{name}\""));

        app.MapGet("/api/v1/dead-letters", (HttpRequest req, ISensorStateStore state) =>
        {
            var q = req.Query;
            string? sensor = null;
            if (q["sensor"].ToString() is { Length: > 0 } s)
            {
                if (s.IndexOf('/', StringComparison.Ordinal) is var i && (i <= 0 || i == s.Length - 1 || s.IndexOf('/', i + 1) >= 0))
                    return ApiErrors.Invalid($"sensor must be namespace/name, got '{s}'");
                sensor = s;
            }
            var all = false;
            if (q["all"].ToString() is { Length: > 0 } a && !bool.TryParse(a, out all)) return ApiErrors.Invalid($"all must be true or false, got '{a}'");
            var limit = 100;
            if (q["limit"].ToString() is { Length: > 0 } l && (!int.TryParse(l, out limit) || limit is < 1 or > 10_000))
                return ApiErrors.Invalid($"limit must be a number from 1 to 10000, got '{l}'");
            var items = new JsonArray();
            foreach (var d in state.DeadLetters(sensor, all, limit)) items.Add(DeadLetterJson(d));
            return Json(new JsonObject { ["items"] = items });
        });
        app.MapPost("/api/v1/dead-letters/{id}/replay", async (string id, DeadLetterReplayer replayer, CancellationToken ct) =>
        {
            if (!long.TryParse(id, out var number)) return ApiErrors.Invalid($"dead letter id must be a number, got '{id}'");
            try
            {
                var r = await replayer.ReplayAsync(number, ct);
                return Json(new JsonObject
                {
                    ["id"] = r.Id, ["sensor"] = r.Sensor, ["trigger"] = r.Trigger, ["outcome"] = r.Outcome, ["detail"] = r.Detail, ["time"] = r.Time.ToString("O"),
                });
            }
            catch (DeadLetterReplayException e)
            {
                return e.Refusal switch
                {
                    ReplayRefusal.NotFound => Results.Json(new { code = 5, message = e.Message }, statusCode: StatusCodes.Status404NotFound),
                    ReplayRefusal.Conflict => ApiErrors.Conflict(e.Message),
                    _ => ApiErrors.Invalid(e.Message),
                };
            }
        });
        return app;
    }

    private static JsonNode WithStatus(Sensor sensor, SensorHost host)
    {
        var node = JsonSerializer.SerializeToNode(sensor, Model.Manifests.Json.Options)!.AsObject();
        var key = SensorHost.KeyOf(sensor);
        var live = host.StatusOf(sensor.NamespaceOrDefault, sensor.Name);
        var counters = host.State.Counters(key);
        var triggers = new JsonArray();
        foreach (var t in sensor.Spec.Triggers ?? [])
        {
            var kind = KindOf(t.Template);
            var name = t.Template?.Name ?? kind;
            triggers.Add(new JsonObject { ["name"] = name, ["kind"] = kind, ["counts"] = Counts(counters, name, Outcomes.All) });
        }
        node["status"] = new JsonObject
        {
            ["phase"] = PhaseOf(live),
            ["message"] = live?.Message,
            ["checkpoint"] = host.State.GetCheckpoint(key), // durable: true even while the runner is not up
            ["lastEventAt"] = live?.LastEventAt?.ToString("O"),
            ["restarts"] = live?.Restarts ?? 0,
            ["triggers"] = triggers,
            ["dependencies"] = Counts(counters, "", [Outcomes.Passed, Outcomes.Filtered]),
        };
        return node;
    }

    /// <summary>Starting and Stopped are moments between runs; to a user the sensor is not processing yet.</summary>
    private static string PhaseOf(SensorStatus? live) => live?.State switch
    {
        SensorState.Running => "Running",
        SensorState.Waiting => "Waiting",
        SensorState.Failed => "Failed",
        SensorState.Refused => "Refused",
        _ => "Pending",
    };

    /// <summary>The Argo key under <c>template</c> that names the trigger's kind; an unsupported one by its own key.</summary>
    internal static string KindOf(TriggerTemplate? t) => t switch
    {
        null => "",
        { ArgoWorkflow: not null } => "argoWorkflow",
        { K8s: not null } => "k8s",
        { Http: not null } => "http",
        { Kafka: not null } => "kafka",
        { Log: not null } => "log",
        _ => t.Unsupported?.Keys.FirstOrDefault() ?? "",
    };

    private static JsonObject Counts(IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> counters, string trigger, string[] outcomes)
    {
        var counts = new JsonObject();
        counters.TryGetValue(trigger, out var byOutcome);
        foreach (var o in outcomes) counts[o] = byOutcome is not null && byOutcome.TryGetValue(o, out var n) ? n : 0;
        return counts;
    }

    private static JsonObject DeadLetterJson(DeadLetter d)
    {
        var events = new JsonObject();
        foreach (var (dep, e) in d.Events.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            events[dep] = new JsonObject
            {
                ["id"] = e.Id, ["source"] = e.Source, ["subject"] = e.Subject, ["type"] = e.Type, ["time"] = e.Time.ToString("O"), ["size"] = e.Data.Length,
            };
        return new JsonObject
        {
            ["id"] = d.Id, ["sensor"] = d.Sensor, ["trigger"] = d.Trigger, ["dedupKey"] = d.DedupKey,
            ["sequences"] = new JsonArray([.. d.Sequences.Select(s => (JsonNode)s)]),
            ["error"] = d.Error, ["time"] = d.Time.ToString("O"), ["replayedAt"] = d.ReplayedAt?.ToString("O"), ["replayOutcome"] = d.ReplayOutcome,
            ["events"] = events,
        };
    }

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json", Encoding.UTF8);
}

/// <summary>An event's recorded path through the sensors, and the one word that sums it up for a list row.</summary>
internal static class EventPaths
{
    /// <summary>What matters most first: a problem, then a firing, then why nothing fired.</summary>
    private static readonly string[] Precedence =
        [Outcomes.DeadLettered, Outcomes.Failed, Outcomes.Triggered, Outcomes.Duplicate, Outcomes.RateLimited, Outcomes.Waiting, Outcomes.Passed, Outcomes.Filtered];

    /// <summary>Dependency stage first, then each trigger's steps in pipeline order (decisions of one pass share a time).</summary>
    public static IReadOnlyList<Decision> Ordered(IEnumerable<Decision> decisions) =>
        decisions.OrderBy(d => d.Sequence).ThenBy(d => d.Time).ThenBy(d => d.Trigger.Length == 0 ? 0 : 1).ThenBy(d => d.Trigger, StringComparer.Ordinal)
            .ThenBy(d => Array.IndexOf(Outcomes.All, d.Outcome)).ToList();

    /// <summary>
    /// Each (sensor, trigger) ends in its last step (rate-limited then triggered is triggered; a replayed dead letter is
    /// triggered); across them the most significant wins. "logged" when no sensor decided anything about the event.
    /// </summary>
    public static string Summarize(IEnumerable<Decision> decisions)
    {
        var finals = Ordered(decisions).GroupBy(d => (d.Sensor, d.Trigger)).Select(g => g.Last().Outcome).ToHashSet(StringComparer.Ordinal);
        return Precedence.FirstOrDefault(finals.Contains) ?? finals.FirstOrDefault() ?? "logged";
    }

    public static JsonArray ToJson(IEnumerable<Decision> decisions)
    {
        var path = new JsonArray();
        foreach (var d in Ordered(decisions))
            path.Add(new JsonObject { ["sensor"] = d.Sensor, ["trigger"] = d.Trigger, ["outcome"] = d.Outcome, ["reason"] = d.Reason, ["time"] = d.Time.ToString("O") });
        return path;
    }
}
