namespace EventGateway.Model;

/// <summary>Annotations the service writes on objects that more than one part of it reads.</summary>
public static class Annotations
{
    /// <summary>The manifest file an object was applied from by <c>serve --manifests</c>; a restart compares it.</summary>
    public const string ManifestFile = "eventgateway.io/manifest-file";

    /// <summary>
    /// The W3C trace context (<c>traceparent</c>) of whatever created a Workflow (a sensor's trigger span), so the
    /// controller's workflow and step spans join that trace, also after a restart.
    /// </summary>
    public const string TraceParent = "eventgateway.io/traceparent";

    /// <summary>The resource (plural.group) an object was read from by <c>serve --kubernetes</c>; such objects change only in the cluster.</summary>
    public const string KubernetesObject = "eventgateway.io/kubernetes-resource";
}
