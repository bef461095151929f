namespace EventGateway.Model;

/// <summary>Annotations the service writes on objects that more than one part of it reads.</summary>
public static class Annotations
{
    /// <summary>The manifest file an object was applied from by <c>serve --manifests</c>; a restart compares it.</summary>
    public const string ManifestFile = "eventgateway.io/manifest-file";

    /// <summary>The resource (plural.group) an object was read from by <c>serve --kubernetes</c>; such objects change only in the cluster.</summary>
    public const string KubernetesObject = "eventgateway.io/kubernetes-resource";
}
