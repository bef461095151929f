using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Server.Api;

/// <summary>
/// Argo Server's submit-from (<c>POST /api/v1/workflows/{ns}/submit</c>) and CronWorkflow suspend/resume
/// (<c>PUT /api/v1/cron-workflows/{ns}/{name}/suspend|resume</c>).
/// </summary>
public static class CronWorkflowApi
{
    /// <summary>The submitOptions fields honoured; any other is refused rather than silently ignored.</summary>
    private static readonly string[] SubmitOptionFields = ["parameters", "labels", "annotations", "name", "generateName", "entryPoint"];

    private const int MaxAttempts = 10;

    public static IEndpointRouteBuilder MapCronWorkflowApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/workflows/{ns}/submit", SubmitFromAsync);
        app.MapPut("/api/v1/cron-workflows/{ns}/{name}/suspend", (string ns, string name, IResourceStore store, CancellationToken ct) => SetSuspendAsync(store, ns, name, true, ct));
        app.MapPut("/api/v1/cron-workflows/{ns}/{name}/resume", (string ns, string name, IResourceStore store, CancellationToken ct) => SetSuspendAsync(store, ns, name, false, ct));
        return app;
    }

    /// <summary>Body {resourceKind, resourceName, submitOptions{parameters, labels, annotations, name, generateName, entryPoint}}.</summary>
    private static async Task<IResult> SubmitFromAsync(string ns, HttpRequest req, WorkflowSubmitter submitter, CancellationToken ct)
    {
        var (body, error) = await WorkflowApi.ReadEnvelopeAsync(req, "submit", ct);
        if (error is not null) return error;
        var request = body!["submit"]!.AsObject();
        try
        {
            var kind = Text(request, "resourceKind") ?? throw new FormatException("resourceKind: missing: one of cronwf, workflowtemplate, clusterworkflowtemplate");
            var name = Text(request, "resourceName") ?? throw new FormatException("resourceName: missing: the object to submit from");
            var options = request["submitOptions"] switch
            {
                null => [],
                JsonObject o => o,
                _ => throw new FormatException("submitOptions: must be an object"),
            };
            if (options.Select(p => p.Key).FirstOrDefault(k => !SubmitOptionFields.Contains(k)) is { } unknown)
                throw new FormatException($"submitOptions.{unknown}: not supported here; supported: {string.Join(", ", SubmitOptionFields)}");

            var wf = await submitter.FromAsync(kind, ns, name, ct);
            if (Text(options, "name") is { } n) (wf.Metadata.Name, wf.Metadata.GenerateName) = (n, null);
            else if (Text(options, "generateName") is { } g) wf.Metadata.GenerateName = g;
            if (Text(options, "entryPoint") is { } entry) wf.Spec.Entrypoint = entry;
            foreach (var (k, v) in Pairs(options, "labels")) (wf.Metadata.Labels ??= [])[k] = v;
            foreach (var (k, v) in Pairs(options, "annotations")) (wf.Metadata.Annotations ??= [])[k] = v;
            var parameters = options["parameters"] switch
            {
                null => null,
                JsonArray ps => SubmitParameters.Parse(ps.Select(p => p is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException("submitOptions.parameters: must be strings name=value"))),
                _ => throw new FormatException("submitOptions.parameters: must be a list of name=value"),
            };
            return WorkflowApi.Ok(await submitter.SubmitAsync(wf, parameters, $"{kind}/{name}", ct));
        }
        catch (NotFoundException e) { return ApiErrors.NotFound(e.Message); }
        catch (ArgumentException e) { return ApiErrors.Invalid(e.Message); }
        catch (FormatException e) { return ApiErrors.Invalid(e.Message); }
        catch (ManifestException e) { return ApiErrors.Invalid(e); }
        catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
    }

    /// <summary>Sets spec.suspend, re-reading on a concurrent change (the scheduler writes the status meanwhile).</summary>
    private static async Task<IResult> SetSuspendAsync(IResourceStore store, string ns, string name, bool suspend, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await store.GetAsync<CronWorkflow>(ns, name, ct) is not { } cron) return ApiErrors.NotFound($"cronworkflows.argoproj.io \"{name}\"");
            if ((cron.Spec.Suspend == true) == suspend) return WorkflowApi.Ok(cron);
            cron.Spec.Suspend = suspend;
            try
            {
                return WorkflowApi.Ok(await store.UpdateAsync(cron, ct));
            }
            catch (ConflictException) when (attempt < MaxAttempts) { }
            catch (ConflictException e) { return ApiErrors.Conflict(e.Message); }
        }
    }

    private static string? Text(JsonObject o, string field) => o[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length == 0 ? null : s,
        _ => throw new FormatException($"{field}: must be a string"),
    };

    /// <summary>Argo's "k1=v1,k2=v2" form of submitOptions.labels and annotations.</summary>
    private static IEnumerable<KeyValuePair<string, string>> Pairs(JsonObject options, string field) =>
        Text(options, field) is { } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => p.IndexOf('=') is var i and > 0
                ? KeyValuePair.Create(p[..i], p[(i + 1)..])
                : throw new FormatException($"submitOptions.{field}: '{p}' must look like key=value"))
            : [];
}
