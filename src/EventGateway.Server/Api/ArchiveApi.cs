using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Api;

/// <summary>Argo Server's archived-workflows API: finished workflows, kept after ttlStrategy or DELETE removed them.</summary>
internal static class ArchiveApi
{
    /// <summary>Most items one page holds; listOptions.continue fetches the next.</summary>
    public const int MaxPage = 500;

    public static IEndpointRouteBuilder MapArchiveApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/archived-workflows");
        g.MapGet("", async (HttpRequest req, CancellationToken ct) =>
        {
            if (Archive(req) is not { } archive) return Off();
            ArchiveQuery query;
            try { query = Query(req.Query); }
            catch (FormatException e) { return ApiErrors.Invalid(e.Message); }
            ArchivePage page;
            try { page = await archive.ListAsync(query, ct); }
            catch (FormatException e) { return ApiErrors.Invalid($"listOptions.continue: {e.Message}"); }
            var items = new JsonArray();
            foreach (var wf in page.Items) items.Add(JsonSerializer.SerializeToNode(wf, Json.Options));
            var metadata = page.Continue is null ? new JsonObject() : new JsonObject { ["continue"] = page.Continue };
            return Results.Text(new JsonObject { ["metadata"] = metadata, ["items"] = items }.ToJsonString(), "application/json", Encoding.UTF8);
        });
        g.MapGet("/{uid}", async (string uid, HttpRequest req, CancellationToken ct) =>
            Archive(req) is not { } archive ? Off()
            : await archive.GetAsync(uid, ct) is { } wf ? WorkflowApi.Ok(wf)
            : ApiErrors.NotFound($"archived workflow \"{uid}\""));
        g.MapDelete("/{uid}", async (string uid, HttpRequest req, CancellationToken ct) =>
            Archive(req) is not { } archive ? Off()
            : await archive.DeleteAsync(uid, ct) ? Results.Json(new { })
            : ApiErrors.NotFound($"archived workflow \"{uid}\""));
        return app;
    }

    private static IWorkflowArchive? Archive(HttpRequest req) => req.HttpContext.RequestServices.GetService<IWorkflowArchive>();

    private static IResult Off() =>
        Results.Json(new { code = 12, message = "the workflow archive is off on this server (egw serve --no-archive)" }, statusCode: StatusCodes.Status501NotImplemented);

    /// <summary>Argo's query: namespace (or listOptions.fieldSelector=metadata.namespace=NS), namePrefix, listOptions.labelSelector/limit/continue.</summary>
    private static ArchiveQuery Query(IQueryCollection q)
    {
        var ns = q["namespace"].ToString() is { Length: > 0 } n ? n : null;
        foreach (var term in q["listOptions.fieldSelector"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!term.StartsWith("metadata.namespace=", StringComparison.Ordinal))
                throw new FormatException($"listOptions.fieldSelector: '{term}' is not supported; use metadata.namespace=NAMESPACE");
            ns = term["metadata.namespace=".Length..];
        }
        var limit = MaxPage;
        if (q["listOptions.limit"].ToString() is { Length: > 0 } l)
        {
            if (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 0)
                throw new FormatException($"listOptions.limit: '{l}' is not a non-negative whole number");
            limit = limit is 0 or > MaxPage ? MaxPage : limit; // 0 is Kubernetes' "no limit": a page still ends at the maximum
        }
        LabelMatcher labels;
        try { labels = LabelMatcher.Parse(q["listOptions.labelSelector"]); }
        catch (FormatException e) { throw new FormatException($"listOptions.labelSelector: {e.Message}"); }
        var prefix = q["namePrefix"].ToString() is { Length: > 0 } p ? p : null;
        var cont = q["listOptions.continue"].ToString() is { Length: > 0 } c ? c : null;
        return new ArchiveQuery(ns, prefix, labels, limit, cont);
    }
}
