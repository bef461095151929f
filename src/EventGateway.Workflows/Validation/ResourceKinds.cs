using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Validation;

/// <summary>
/// Which kinds a resource template may name. The embedded store keeps a fixed set (<see cref="Resources.Kinds"/>); in
/// Kubernetes mode the cluster serves any kind, known only to its discovery when the template runs. The checks are
/// static and shared by both modes, so the mode travels with the call: validation inside <see cref="ClusterServed"/>
/// (the cluster's parser, the submitter in Kubernetes mode) accepts any kind.
/// </summary>
public static class ResourceKinds
{
    private static readonly AsyncLocal<bool> Cluster = new();

    /// <summary>True inside <see cref="ClusterServed"/>.</summary>
    public static bool AnyKind => Cluster.Value;

    /// <summary>Until disposed, validation on this flow accepts any kind in resource templates.</summary>
    public static IDisposable ClusterServed()
    {
        var before = Cluster.Value;
        Cluster.Value = true;
        return new Restore(before);
    }

    private sealed class Restore(bool before) : IDisposable
    {
        public void Dispose() => Cluster.Value = before;
    }

    /// <summary><see cref="WorkflowValidator"/> for manifests read from the cluster: resource templates may name any kind.</summary>
    public static IKindValidator InCluster { get; } = new ClusterWorkflowValidator();

    private sealed class ClusterWorkflowValidator : IKindValidator
    {
        private readonly IKindValidator _inner = WorkflowValidator.Instance;

        public IReadOnlyCollection<Type> Kinds => _inner.Kinds;

        public void Validate(Resource resource, Action<string, string> fail)
        {
            using var _ = ClusterServed();
            _inner.Validate(resource, fail);
        }
    }
}
