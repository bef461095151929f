using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Server.Security;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Server.Api;

/// <summary>The REST API, shaped like the Argo Server's /api/v1 so existing clients find what they expect.</summary>
public static class WorkflowApi
{
    private const long MaxBody = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapEventGatewayApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", Readiness.CheckAsync);
        // Everything but the probes is behind the guard: authentication, the access table, cross-site checks.
        var api = app.MapGroup("").AddEndpointFilter<ApiGuard>().AddEndpointFilter<Kubernetes.ClusterOwnedKinds>();
        MapGuarded(api);
        return app;
    }

    private static void MapGuarded(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/version", () => Results.Json(new { version = typeof(WorkflowApi).Assembly.GetName().Version?.ToString() ?? "dev", platform = "linux/amd64" }));

        var wf = app.MapGroup("/api/v1/workflows/{ns}");
        // Argo's list: "-" for every namespace, and listOptions.labelSelector.
        wf.MapGet("", async (string ns, HttpRequest req, IResourceStore store, CancellationToken ct) =>
        {
            LabelMatcher labels;
            try { labels = LabelMatcher.Parse(req.Query["listOptions.labelSelector"]); }
            catch (FormatException e) { return ApiErrors.Invalid($"listOptions.labelSelector: {e.Message}"); }
            var all = await store.ListAsync<Workflow>(ns is "-" ? null : ns, ct);
            return List(labels.MatchesEverything ? all : [.. all.Where(w => labels.Matches(w.Metadata.Labels))]);
        });
        wf.MapGet("/{name}", async (string ns, string name, IResourceStore store, CancellationToken ct) =>
            await store.GetAsync<Workflow>(ns, name, ct) is { } w ? Ok(w) : ApiErrors.NotFound($"workflows.argoproj.io \"{name}\""));
        wf.MapPost("", async (string ns, HttpRequest req, WorkflowSubmitter submitter, CancellationToken ct) =>
        {
            var (body, error) = await ReadEnvelopeAsync(req, "workflow", ct);
            if (error is not null) return error;
            try
            {
                var w = InNamespace(Single<Workflow>(body!, "workflow", req.HttpContext.RequestServices.GetService<ManifestParser>()), ns, "workflow");
                var parameters = body!["parameters"] is JsonArray ps ? SubmitParameters.Parse(ps.Select(p => p?.GetValue<string>() ?? "")) : null;
                return Ok(await submitter.SubmitAsync(w, parameters, "request", ct), StatusCodes.Status200OK);
            }
            catch (ManifestException e) { return ApiErrors.Invalid(e); }
            catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
            catch (FormatException e) { return ApiErrors.Invalid(e.Message); }
        });
        wf.MapPost("/lint", async (string ns, HttpRequest req, WorkflowSubmitter submitter, CancellationToken ct) =>
        {
            var (body, error) = await ReadEnvelopeAsync(req, "workflow", ct);
            if (error is not null) return error;
            try
            {
                var w = InNamespace(Single<Workflow>(body!, "workflow", req.HttpContext.RequestServices.GetService<ManifestParser>()), ns, "workflow");
                return Ok(await submitter.PrepareAsync(w, null, "request", ct));
            }
            catch (ManifestException e) { return ApiErrors.Invalid(e); }
        });
        wf.MapDelete("/{name}", async (string ns, string name, Workflows.Retention.WorkflowDeleter deleter, CancellationToken ct) =>
            await deleter.DeleteAsync(ns, name, ct) ? Results.Json(new { }) : ApiErrors.NotFound($"workflows.argoproj.io \"{name}\""));
        wf.MapGet("/{name}/log", (string ns, string name, HttpContext http, IResourceStore store, IStepExecutor executor, TimeProvider time, Workflows.Retention.RetentionOptions retention, CancellationToken ct) =>
            WorkflowLogs.StreamAsync(http, store, executor, time, retention, ns, name, ct));
        MapControls(wf);

        MapTemplates<WorkflowTemplate>(app, "/api/v1/workflow-templates/{ns}", "template", "workflowtemplates.argoproj.io");
        MapTemplates<CronWorkflow>(app, "/api/v1/cron-workflows/{ns}", "cronWorkflow", "cronworkflows.argoproj.io");
        MapTemplates<ClusterWorkflowTemplate>(app, "/api/v1/cluster-workflow-templates", "template", "clusterworkflowtemplates.argoproj.io");
        app.MapCronWorkflowApi();
        app.MapArchiveApi();
        app.MapEventApi();
        app.MapSensorApi();
        app.MapMetricsApi();
    }

    internal static void MapTemplates<T>(IEndpointRouteBuilder app, string prefix, string envelope, string resource) where T : Resource
    {
        var g = app.MapGroup(prefix);
        g.MapGet("", async (HttpContext http, IResourceStore store, CancellationToken ct) => List(await store.ListAsync<T>(Ns(http) is "-" ? null : Ns(http), ct)));
        g.MapGet("/{name}", async (string name, HttpContext http, IResourceStore store, CancellationToken ct) =>
            await store.GetAsync<T>(Ns(http), name, ct) is { } t ? Ok(t) : ApiErrors.NotFound($"{resource} \"{name}\""));
        g.MapPost("", async (HttpContext http, IResourceStore store, CancellationToken ct) =>
        {
            var (body, error) = await ReadEnvelopeAsync(http.Request, envelope, ct);
            if (error is not null) return error;
            try
            {
                var t = Single<T>(body!, envelope, http.RequestServices.GetService<ManifestParser>());
                if (!Resources.IsClusterScoped(t.Kind)) InNamespace(t, Ns(http), envelope);
                return Ok(await store.CreateAsync(t, ct));
            }
            catch (ManifestException e) { return ApiErrors.Invalid(e); }
            catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
        });
        g.MapDelete("/{name}", async (string name, HttpContext http, IResourceStore store, CancellationToken ct) =>
            await store.DeleteAsync<T>(Ns(http), name, ct) ? Results.Json(new { }) : ApiErrors.NotFound($"{resource} \"{name}\""));
    }

    /// <summary>
    /// Argo's PUT /api/v1/workflows/{ns}/{name}/suspend|resume|stop|terminate|retry|resubmit, with the bodies its
    /// server accepts (every field optional); each answers the workflow as it now is (resubmit: the new one).
    /// </summary>
    private static void MapControls(RouteGroupBuilder wf)
    {
        wf.MapPut("/{name}/suspend", (string ns, string name, HttpRequest req, WorkflowControls ops, CancellationToken ct) =>
            OperateAsync(req, name, b => OperationText(b, "nodeFieldSelector") is null ? ops.SuspendAsync(ns, name, ct) : throw new WorkflowControlException(WorkflowControls.NoNodeSuspend), ct));
        wf.MapPut("/{name}/resume", (string ns, string name, HttpRequest req, WorkflowControls ops, CancellationToken ct) =>
            OperateAsync(req, name, b => ops.ResumeAsync(ns, name, OperationText(b, "nodeFieldSelector"), ct), ct));
        wf.MapPut("/{name}/stop", (string ns, string name, HttpRequest req, WorkflowControls ops, CancellationToken ct) =>
            OperateAsync(req, name, b => ops.StopAsync(ns, name, OperationText(b, "message"), OperationText(b, "nodeFieldSelector"), ct), ct));
        wf.MapPut("/{name}/terminate", (string ns, string name, HttpRequest req, WorkflowControls ops, CancellationToken ct) =>
            OperateAsync(req, name, _ => ops.TerminateAsync(ns, name, ct), ct));
        wf.MapPut("/{name}/retry", (string ns, string name, HttpRequest req, WorkflowControls ops, CancellationToken ct) =>
            OperateAsync(req, name, b => ops.RetryAsync(ns, name, OperationFlag(b, "restartSuccessful"), OperationText(b, "nodeFieldSelector"), ct), ct));
        wf.MapPut("/{name}/resubmit", (string ns, string name, HttpRequest req, WorkflowControls ops, CancellationToken ct) =>
            OperateAsync(req, name, b => ops.ResubmitAsync(ns, name, OperationFlag(b, "memoized"), ct: ct), ct));
    }

    private static async Task<IResult> OperateAsync(HttpRequest req, string name, Func<JsonObject, Task<Workflow>> operation, CancellationToken ct)
    {
        JsonObject body;
        using (var reader = new StreamReader(req.Body, Encoding.UTF8))
        {
            var text = await reader.ReadToEndAsync(ct);
            if (text.Length > MaxBody) return ApiErrors.Invalid($"request body is larger than {MaxBody} bytes");
            try
            {
                body = string.IsNullOrWhiteSpace(text) ? [] : JsonNode.Parse(text) as JsonObject ?? throw new FormatException("request body must be a JSON object");
            }
            catch (JsonException e) { return ApiErrors.Invalid($"request body is not JSON: {e.Message}"); }
            catch (FormatException e) { return ApiErrors.Invalid(e.Message); }
        }
        try
        {
            if (body["parameters"] is JsonArray { Count: > 0 })
                return ApiErrors.Invalid("parameters: overriding parameters on retry or resubmit is not supported");
            return Ok(await operation(body));
        }
        catch (NotFoundException) { return ApiErrors.NotFound($"workflows.argoproj.io \"{name}\""); }
        catch (WorkflowControlException e) { return ApiErrors.Invalid(e.Message); }
        catch (FormatException e) { return ApiErrors.Invalid(e.Message); }
        catch (ManifestException e) { return ApiErrors.Invalid(e); }
        catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
    }

    private static string? OperationText(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new FormatException($"{field}: must be a string"),
    };

    private static bool OperationFlag(JsonObject body, string field) => body[field] switch
    {
        null => false,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => throw new FormatException($"{field}: must be true or false"),
    };

    private static string Ns(HttpContext http) => http.Request.RouteValues.TryGetValue("ns", out var ns) && ns is string s ? s : "";

    /// <summary>Reads {"envelope": {...manifest...}} (Argo's create request) or the bare manifest.</summary>
    internal static async Task<(JsonObject? Body, IResult? Error)> ReadEnvelopeAsync(HttpRequest req, string envelope, CancellationToken ct)
    {
        if (req.ContentLength > MaxBody) return (null, ApiErrors.Invalid($"request body is larger than {MaxBody} bytes"));
        using var reader = new StreamReader(req.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(ct);
        if (text.Length > MaxBody) return (null, ApiErrors.Invalid($"request body is larger than {MaxBody} bytes"));
        try
        {
            if (JsonNode.Parse(text) is not JsonObject o) return (null, ApiErrors.Invalid("request body must be a JSON object"));
            if (o[envelope] is not JsonObject) o = new JsonObject { [envelope] = o.DeepClone() };
            return (o, null);
        }
        catch (JsonException e)
        {
            return (null, ApiErrors.Invalid($"request body is not JSON: {e.Message}"));
        }
    }

    /// <param name="parser">The mode's reader (Kubernetes mode: resource templates may name any kind the cluster serves); null: the default.</param>
    internal static T Single<T>(JsonObject body, string envelope, ManifestParser? parser = null) where T : Resource
    {
        var doc = body[envelope] is { } json ? (parser ?? ManifestReader.Parser).ReadJson(json, "request") : null;
        if (doc is not T one)
            throw new ManifestException([new ManifestError("request", 0, doc?.Kind, null, envelope, null, $"expected a {typeof(T).Name}")]);
        return one;
    }

    /// <summary>
    /// The object goes in the namespace of the path, which is the one the caller was authorized for: a body naming
    /// another is refused, not obeyed.
    /// </summary>
    internal static T InNamespace<T>(T resource, string ns, string envelope) where T : Resource
    {
        if (resource.Metadata.Namespace is { Length: > 0 } own && own != ns)
            throw new ManifestException([new ManifestError("request", 0, resource.Kind, resource.Metadata.Name, $"{envelope}.metadata.namespace", null,
                $"'{own}' differs from the namespace in the path '{ns}'")]);
        resource.Metadata.Namespace = ns;
        return resource;
    }

    internal static IResult Ok(Resource r, int status = StatusCodes.Status200OK) =>
        Results.Text(JsonSerializer.Serialize(r, r.GetType(), Json.Options), "application/json", Encoding.UTF8, status);

    private static IResult List<T>(IReadOnlyList<T> items) where T : Resource
    {
        var arr = new JsonArray();
        foreach (var i in items) arr.Add(JsonSerializer.SerializeToNode(i, i.GetType(), Json.Options));
        return Results.Text(new JsonObject { ["metadata"] = new JsonObject(), ["items"] = arr }.ToJsonString(), "application/json", Encoding.UTF8);
    }
}
