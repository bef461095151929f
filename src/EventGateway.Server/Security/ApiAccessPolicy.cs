using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EventGateway.Model;

namespace EventGateway.Server.Security;

/// <summary>Where an endpoint's namespace comes from.</summary>
public enum NamespaceFrom
{
    /// <summary>Not namespaced and harmless (the version): any valid token.</summary>
    Nothing,

    /// <summary>The <c>{ns}</c> route value; "-" (every namespace) needs a grant of "*".</summary>
    Route,

    /// <summary>The <c>namespace</c> query (or <c>listOptions.fieldSelector=metadata.namespace=</c>); absent: every namespace, which needs "*".</summary>
    Query,

    /// <summary>Cluster-wide data or cluster-scoped kinds: a grant of "*".</summary>
    Cluster,

    /// <summary>The request body's documents, each authorized by <see cref="ApiAccessPolicy.RefuseDocuments"/> before any is applied.</summary>
    Documents,
}

public sealed record AccessRule(ApiRole Role, NamespaceFrom Namespace);

/// <summary>
/// The one table of who may call what: every endpoint of the REST API, by method and route pattern, with the role it needs
/// and where its namespace comes from. An endpoint missing here is refused (and a test fails), never open.
/// </summary>
public static class ApiAccessPolicy
{
    private const string Wf = "/api/v1/workflows/{ns}";

    public static FrozenDictionary<string, AccessRule> Rules { get; } = new Dictionary<string, AccessRule>
    {
        ["GET /api/v1/version"] = new(ApiRole.Read, NamespaceFrom.Nothing),

        ["GET " + Wf] = new(ApiRole.Read, NamespaceFrom.Route),
        ["GET " + Wf + "/{name}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["GET " + Wf + "/{name}/log"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["POST " + Wf] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["POST " + Wf + "/lint"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["POST " + Wf + "/submit"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["PUT " + Wf + "/{name}/suspend"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["PUT " + Wf + "/{name}/resume"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["PUT " + Wf + "/{name}/stop"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["PUT " + Wf + "/{name}/terminate"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["PUT " + Wf + "/{name}/retry"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["PUT " + Wf + "/{name}/resubmit"] = new(ApiRole.Submit, NamespaceFrom.Route),
        ["DELETE " + Wf + "/{name}"] = new(ApiRole.Admin, NamespaceFrom.Route),

        ["GET /api/v1/workflow-templates/{ns}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["GET /api/v1/workflow-templates/{ns}/{name}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["POST /api/v1/workflow-templates/{ns}"] = new(ApiRole.Admin, NamespaceFrom.Route),
        ["DELETE /api/v1/workflow-templates/{ns}/{name}"] = new(ApiRole.Admin, NamespaceFrom.Route),

        ["GET /api/v1/cron-workflows/{ns}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["GET /api/v1/cron-workflows/{ns}/{name}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["POST /api/v1/cron-workflows/{ns}"] = new(ApiRole.Admin, NamespaceFrom.Route),
        ["DELETE /api/v1/cron-workflows/{ns}/{name}"] = new(ApiRole.Admin, NamespaceFrom.Route),
        ["PUT /api/v1/cron-workflows/{ns}/{name}/suspend"] = new(ApiRole.Admin, NamespaceFrom.Route),
        ["PUT /api/v1/cron-workflows/{ns}/{name}/resume"] = new(ApiRole.Admin, NamespaceFrom.Route),

        ["GET /api/v1/cluster-workflow-templates"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["GET /api/v1/cluster-workflow-templates/{name}"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["POST /api/v1/cluster-workflow-templates"] = new(ApiRole.Admin, NamespaceFrom.Cluster),
        ["DELETE /api/v1/cluster-workflow-templates/{name}"] = new(ApiRole.Admin, NamespaceFrom.Cluster),

        ["GET /api/v1/archived-workflows"] = new(ApiRole.Read, NamespaceFrom.Query),
        // By uid alone the namespace is unknown until the row is read: all namespaces.
        ["GET /api/v1/archived-workflows/{uid}"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["DELETE /api/v1/archived-workflows/{uid}"] = new(ApiRole.Admin, NamespaceFrom.Cluster),

        ["POST /api/v1/apply"] = new(ApiRole.Admin, NamespaceFrom.Documents),

        ["GET /api/v1/event-sources/{ns}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["GET /api/v1/event-sources/{ns}/{name}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["POST /api/v1/event-sources/{ns}"] = new(ApiRole.Admin, NamespaceFrom.Route),
        ["DELETE /api/v1/event-sources/{ns}/{name}"] = new(ApiRole.Admin, NamespaceFrom.Route),

        ["GET /api/v1/sensors/{ns}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["GET /api/v1/sensors/{ns}/{name}"] = new(ApiRole.Read, NamespaceFrom.Route),
        ["POST /api/v1/sensors/{ns}"] = new(ApiRole.Admin, NamespaceFrom.Route),
        ["DELETE /api/v1/sensors/{ns}/{name}"] = new(ApiRole.Admin, NamespaceFrom.Route),

        ["GET /api/v1/events"] = new(ApiRole.Read, NamespaceFrom.Query),
        ["GET /api/v1/events/{sequence:long}"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["GET /api/v1/eventlog"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["GET /api/v1/manifests"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["GET /api/v1/dead-letters"] = new(ApiRole.Read, NamespaceFrom.Cluster),
        ["POST /api/v1/dead-letters/{id}/replay"] = new(ApiRole.Admin, NamespaceFrom.Cluster),
        ["GET /metrics"] = new(ApiRole.Read, NamespaceFrom.Cluster),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static string Key(string method, string pattern) => $"{method} {pattern}";

    /// <summary>The endpoint's route as the table spells it (a group's "" leaves a trailing slash on its collection routes).</summary>
    public static string Pattern(Endpoint? endpoint) =>
        (endpoint as RouteEndpoint)?.RoutePattern.RawText is { Length: > 1 } raw ? raw.TrimEnd('/') : "";

    /// <summary>Why the grant may not make this request, or null when it may.</summary>
    public static string? Refuse(ApiGrant grant, AccessRule rule, HttpRequest req)
    {
        if (grant.Role < rule.Role)
            return $"{grant} may not {req.Method} {req.Path}: that needs the {ApiGrant.RoleName(rule.Role)} role";
        var ns = rule.Namespace switch
        {
            NamespaceFrom.Route => req.RouteValues.TryGetValue("ns", out var v) && v is string s && s != "-" ? s : null,
            NamespaceFrom.Query => QueryNamespace(req),
            NamespaceFrom.Cluster => null,
            _ => "",
        };
        if (ns is null && !grant.CoversAllNamespaces)
            return $"{grant} may not {req.Method} {req.Path}: that spans every namespace and needs a grant of \"*\"";
        if (ns is { Length: > 0 } && !grant.Covers(ns))
            return $"{grant} may not act in namespace '{ns}'";
        return null;
    }

    /// <summary>Each document's namespace (or "*" for a cluster-scoped kind) must be in the grant; null when all are.</summary>
    public static string? RefuseDocuments(ApiGrant grant, IEnumerable<Resource> docs)
    {
        foreach (var d in docs)
        {
            var what = $"{d.Kind}/{d.Metadata.Name ?? d.Metadata.GenerateName}";
            if (Resources.IsClusterScoped(d.Kind) ? !grant.CoversAllNamespaces : !grant.Covers(d.NamespaceOrDefault))
                return $"{grant} may not apply {what} in {(Resources.IsClusterScoped(d.Kind) ? "the cluster scope" : $"namespace '{d.NamespaceOrDefault}'")}; nothing was applied";
        }
        return null;
    }

    private static string? QueryNamespace(HttpRequest req)
    {
        var ns = req.Query["namespace"].ToString() is { Length: > 0 } n ? n : null;
        foreach (var term in req.Query["listOptions.fieldSelector"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (term.StartsWith("metadata.namespace=", StringComparison.Ordinal)) ns = term["metadata.namespace=".Length..];
        return ns;
    }
}
