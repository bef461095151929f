using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using EventGateway.Events.EventSources;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Server.Security;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Api;

/// <summary>
/// The event side of the REST API: apply manifests, EventSources with their listeners' live status,
/// and the event log (recent events, one event with its data, the log's size and retention).
/// </summary>
public static class EventApi
{
    private const long MaxManifest = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapEventApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/apply", ApplyAsync);

        var es = app.MapGroup("/api/v1/event-sources/{ns}");
        es.MapGet("", async (string ns, IResourceStore store, EventSourceHost host, CancellationToken ct) =>
        {
            var items = new JsonArray();
            foreach (var e in await store.ListAsync<EventSource>(ns == "-" ? null : ns, ct)) items.Add(WithStatus(e, host));
            return Json(new JsonObject { ["metadata"] = new JsonObject(), ["items"] = items });
        });
        es.MapGet("/{name}", async (string ns, string name, IResourceStore store, EventSourceHost host, CancellationToken ct) =>
            await store.GetAsync<EventSource>(ns, name, ct) is { } e ? Json(WithStatus(e, host)) : ApiErrors.NotFound($"eventsources.argoproj.io \"{name}\""));
        es.MapPost("", async (string ns, HttpRequest req, IResourceStore store, CancellationToken ct) =>
        {
            var (body, error) = await WorkflowApi.ReadEnvelopeAsync(req, "eventSource", ct);
            if (error is not null) return error;
            try
            {
                var e = WorkflowApi.InNamespace(WorkflowApi.Single<EventSource>(body!, "eventSource"), ns, "eventSource");
                return WorkflowApi.Ok(await store.CreateAsync(e, ct));
            }
            catch (ManifestException e) { return ApiErrors.Invalid(e); }
            catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
        });
        es.MapDelete("/{name}", async (string ns, string name, IResourceStore store, CancellationToken ct) =>
            await store.DeleteAsync<EventSource>(ns, name, ct) ? Results.Json(new { }) : ApiErrors.NotFound($"eventsources.argoproj.io \"{name}\""));

        app.MapGet("/api/v1/events", async (HttpRequest req, IEventLog log, ISensorStateStore sensors, CancellationToken ct) =>
        {
            var q = req.Query;
            if (!TryInt(q["limit"], 50, out var limit) || limit is < 1 or > 10_000) return ApiErrors.Invalid("limit must be a number from 1 to 10000");
            long? before = null;
            if (q["before"].ToString() is { Length: > 0 } b)
            {
                if (!long.TryParse(b, out var bv)) return ApiErrors.Invalid("before must be a sequence number");
                before = bv;
            }
            var events = await log.QueryAsync(new EventQuery(Empty(q["namespace"]), Empty(q["source"]), Empty(q["event"]), before, limit), ct);
            var paths = sensors.DecisionsFor(events.Select(e => e.Sequence).ToList()).ToLookup(d => d.Sequence);
            var items = new JsonArray();
            foreach (var e in events)
            {
                var item = Summary(e);
                item["outcome"] = EventPaths.Summarize(paths[e.Sequence]);
                items.Add(item);
            }
            return Json(new JsonObject { ["items"] = items, ["log"] = Stats(await log.StatsAsync(ct)) });
        });
        app.MapGet("/api/v1/events/{sequence:long}", async (long sequence, IEventLog log, ISensorStateStore sensors, CancellationToken ct) =>
        {
            if (await log.GetAsync(sequence, ct) is not { } e) return ApiErrors.NotFound($"event {sequence}");
            var path = sensors.DecisionsFor([sequence]);
            var item = Summary(e);
            item["outcome"] = EventPaths.Summarize(path);
            item["path"] = EventPaths.ToJson(path);
            item["data"] = JsonNode.Parse(e.Event.Data.Span);
            return Json(item);
        });
        app.MapGet("/api/v1/eventlog", async (IEventLog log, CancellationToken ct) => Json(Stats(await log.StatsAsync(ct))));
        app.MapGet("/api/v1/manifests", (IServiceProvider sp) =>
        {
            var watcher = sp.GetService<ManifestDirectoryWatcher>();
            var errors = new JsonArray();
            foreach (var (_, list) in watcher?.Errors ?? new Dictionary<string, IReadOnlyList<ManifestError>>())
                foreach (var e in list) errors.Add(e.ToString());
            return Json(new JsonObject { ["errors"] = errors });
        });
        return app;
    }

    /// <summary>`egw apply -f`: every document valid and applied in one transaction, or nothing.</summary>
    private static async Task<IResult> ApplyAsync(HttpRequest req, IResourceStore store, CancellationToken ct)
    {
        if (req.ContentLength > MaxManifest) return ApiErrors.Invalid($"manifest is larger than {MaxManifest} bytes");
        using var reader = new StreamReader(req.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(ct);
        if (text.Length > MaxManifest) return ApiErrors.Invalid($"manifest is larger than {MaxManifest} bytes");
        var source = req.Query["source"].ToString() is { Length: > 0 } s ? s : "request";
        try
        {
            var docs = (req.HttpContext.RequestServices.GetService<ManifestParser>() ?? ManifestReader.Parser).Read(text, source);
            // Every document is authorized before any is applied: all of them or nothing.
            var caller = req.HttpContext.Features.Get<ApiCaller>() ?? throw new InvalidOperationException("apply reached without the API guard");
            if (ApiAccessPolicy.RefuseDocuments(caller.Grant, docs) is { } refusal) return ApiErrors.Forbidden(refusal);
            if (Kubernetes.ClusterOwnedKinds.RefuseDocuments(req.HttpContext, docs) is { } owned) return owned;
            if (docs.OfType<Workflow>().FirstOrDefault() is { } wf)
                return ApiErrors.Invalid($"{source}: Workflow/{wf.Metadata.Name ?? wf.Metadata.GenerateName}: Workflows are submitted, not applied; use `egw submit`");
            var applied = await store.ApplyAllAsync(docs, ct);
            var items = new JsonArray();
            foreach (var r in applied)
                items.Add(new JsonObject { ["kind"] = r.Kind, ["namespace"] = r.Metadata.Namespace, ["name"] = r.Name, ["resourceVersion"] = r.Metadata.ResourceVersion });
            return Json(new JsonObject { ["items"] = items });
        }
        catch (ManifestException e) { return ApiErrors.Invalid(e); }
    }

    private static JsonNode WithStatus(EventSource e, EventSourceHost host)
    {
        var node = JsonSerializer.SerializeToNode(e, Model.Manifests.Json.Options)!.AsObject();
        var listeners = new JsonArray();
        var state = host.StatusOf(e.NamespaceOrDefault, e.Name);
        foreach (var l in state?.Listeners ?? [])
        {
            var rejected = new JsonObject();
            foreach (var (reason, n) in l.Rejected.OrderBy(r => r.Key, StringComparer.Ordinal)) rejected[reason] = n;
            listeners.Add(new JsonObject
            {
                ["type"] = l.Type, ["event"] = l.EventName, ["state"] = l.State.ToString(), ["target"] = l.Target, ["message"] = l.Message,
                ["accepted"] = l.Accepted, ["rejected"] = rejected, ["lastEventAt"] = l.LastEventAt?.ToString("O"), ["restarts"] = l.Restarts,
            });
        }
        node["status"] = new JsonObject
        {
            ["phase"] = state is null ? "Pending" : state.Value.Error is not null ? "Refused" : state.Value.Listeners.Any(l => l.State == ListenerState.Failed) ? "Degraded" : "Running",
            ["message"] = state?.Error,
            ["listeners"] = listeners,
        };
        return node;
    }

    /// <summary>The envelope; the outcome comes from the sensors' recorded decisions (<see cref="EventPaths"/>).</summary>
    private static JsonObject Summary(LoggedEvent e)
    {
        return new JsonObject
        {
            ["sequence"] = e.Sequence, ["id"] = e.Event.Id, ["namespace"] = e.Namespace, ["source"] = e.Event.Source, ["subject"] = e.Event.Subject,
            ["type"] = e.Event.Type, ["specversion"] = e.Event.SpecVersion, ["datacontenttype"] = e.Event.DataContentType,
            ["time"] = e.Event.Time.ToString("O"), ["received"] = e.Received.ToString("O"), ["size"] = e.Event.Data.Length,
        };
    }

    private static JsonObject Stats(EventLogStats s) => new()
    {
        ["count"] = s.Count, ["firstSequence"] = s.FirstSequence, ["lastSequence"] = s.LastSequence,
        ["oldest"] = s.Oldest?.ToString("O"), ["newest"] = s.Newest?.ToString("O"), ["pending"] = s.Pending,
        ["retention"] = new JsonObject { ["maxAge"] = Durations.Format(s.RetentionMaxAge), ["maxEvents"] = s.RetentionMaxEvents },
    };

    private static bool TryInt(string? s, int fallback, out int value)
    {
        if (string.IsNullOrEmpty(s)) { value = fallback; return true; }
        return int.TryParse(s, out value);
    }

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json", Encoding.UTF8);
}
