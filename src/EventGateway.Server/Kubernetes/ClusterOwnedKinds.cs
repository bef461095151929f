using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using EventGateway.Model;
using EventGateway.Server.Hosting;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// In Kubernetes mode the cluster is the source of truth for the mirrored kinds: the REST API reads them but refuses
/// to change them (405 on their endpoints, 409 for `egw apply` of such a document), saying to use kubectl, so no change
/// made here is silently overwritten by the next watch event.
/// </summary>
public sealed class ClusterOwnedKinds : IEndpointFilter
{
    private static readonly (string Prefix, string Resource, string Kind)[] Endpoints =
    [
        ("/api/v1/event-sources/", "eventsources.argoproj.io", "eventsource"),
        ("/api/v1/sensors/", "sensors.argoproj.io", "sensor"),
        ("/api/v1/workflow-templates/", "workflowtemplates.argoproj.io", "workflowtemplate"),
        ("/api/v1/cluster-workflow-templates", "clusterworkflowtemplates.argoproj.io", "clusterworkflowtemplate"),
        ("/api/v1/cron-workflows/", "cronworkflows.argoproj.io", "cronworkflow"),
    ];

    public static bool Owns(string kind) => ClusterKind.Mirrored.Any(k => k.Kind == kind);

    public static string Message(string resource, string kind) =>
        $"{resource} are read from the Kubernetes cluster (egw serve --kubernetes) and cannot be changed through this API; change them in the cluster, e.g. `kubectl apply -f FILE` or `kubectl delete {kind} NAME -n NAMESPACE`";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.RequestServices.GetService<EventGatewayOptions>()?.Kubernetes is null || HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
            return await next(context).ConfigureAwait(false);
        var path = http.Request.Path.Value ?? "";
        foreach (var (prefix, resource, kind) in Endpoints)
            if (path.StartsWith(prefix, StringComparison.Ordinal))
                return Results.Json(new { code = 9, message = Message(resource, kind) }, statusCode: StatusCodes.Status405MethodNotAllowed);
        return await next(context).ConfigureAwait(false);
    }

    /// <summary>For `egw apply`: the first document of a cluster-owned kind, refused with the reason; null when none is.</summary>
    public static IResult? RefuseDocuments(HttpContext http, IEnumerable<Resource> docs)
    {
        if (http.RequestServices.GetService<EventGatewayOptions>()?.Kubernetes is null) return null;
        return docs.FirstOrDefault(d => Owns(d.Kind)) is { } owned
            ? Results.Json(new { code = 9, message = $"{owned.Kind}/{owned.Name}: " + Message(ClusterKind.Mirrored.First(k => k.Kind == owned.Kind).ToString(), owned.Kind.ToLowerInvariant()) },
                statusCode: StatusCodes.Status409Conflict)
            : null;
    }
}
