using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Volumes;

/// <summary>What a container's volumeMount is backed by, found by the volume's name.</summary>
public enum VolumeKind { EmptyDir, Claim, ClaimTemplate, Unsupported, Undeclared }

public sealed record VolumeSource(VolumeKind Kind, string? ClaimName = null, string? Type = null);

/// <summary>
/// A container's or script's volumeMounts as directories shared through the executor (<see cref="SharedVolume"/>),
/// each living as long as Kubernetes would keep the volume:
/// <list type="bullet">
/// <item><c>emptyDir</c>: the pod's own (a directory of its node), gone with the pod;</item>
/// <item><c>volumeClaimTemplates</c>: one per workflow, shared by its steps, gone with the workflow (Argo's default
/// volumeClaimGC deletes it when the workflow completes; here it goes when the workflow is deleted);</item>
/// <item><c>persistentVolumeClaim.claimName</c>: one per PersistentVolumeClaim in the store, shared by every workflow of
/// its namespace, gone when the claim is deleted. A claim that is not in the store fails the step.</item>
/// </list>
/// </summary>
public sealed class PodVolumes : IDisposable
{
    /// <summary>
    /// Node ids are Kubernetes names or derived from them and never start with a dot, so these keys name no step:
    /// a workflow's claims live beside its steps (removed with them), a namespace's claims beside its workflows.
    /// </summary>
    private const string ClaimsKey = ".claims";

    public static readonly string[] Supported = ["emptyDir", "persistentVolumeClaim", "volumeClaimTemplates"];

    private readonly IResourceStore _store;
    private readonly IDisposable _watch;

    public PodVolumes(IResourceStore store, IStepExecutor executor)
    {
        _store = store;
        _watch = store.Watch("PersistentVolumeClaim", c =>
        {
            if (c.Type != ChangeType.Deleted) return;
            try { executor.Forget(ClaimOwner(c.Namespace, c.Name)); }
            catch (IOException) { } // a step still writing to it: what is left goes with the next deletion of that name
        });
    }

    private static StepKey ClaimOwner(string ns, string claim) => new(ns, ClaimsKey, claim);

    /// <summary>The volume named <paramref name="name"/>: the template's volumes first, then the workflow's, then its claim templates.</summary>
    public static VolumeSource Find(string name, JsonNode? templateVolumes, WorkflowSpec spec)
    {
        foreach (var volumes in new[] { templateVolumes, spec.Volumes })
            if (volumes is JsonArray a && a.OfType<JsonObject>().FirstOrDefault(v => ContainerMounts.Text(v["name"]) == name) is { } v)
            {
                if (v.ContainsKey("emptyDir")) return new VolumeSource(VolumeKind.EmptyDir);
                if (v["persistentVolumeClaim"] is JsonObject pvc) return new VolumeSource(VolumeKind.Claim, ContainerMounts.Text(pvc["claimName"]) ?? "");
                return new VolumeSource(VolumeKind.Unsupported, Type: v.Select(p => p.Key).FirstOrDefault(k => k != "name") ?? "(none)");
            }
        if (spec.VolumeClaimTemplates is JsonArray claims && claims.OfType<JsonObject>().Any(c => ContainerMounts.Text(c["metadata"]?["name"]) == name))
            return new VolumeSource(VolumeKind.ClaimTemplate);
        return new VolumeSource(VolumeKind.Undeclared);
    }

    /// <summary>Why a mount cannot be served, for the validator and the step alike; null when it can.</summary>
    public static string? Problem(string name, VolumeSource source) => source.Kind switch
    {
        VolumeKind.Undeclared => $"volume '{name}' is not declared in the template's or the workflow's volumes or volumeClaimTemplates",
        VolumeKind.Unsupported => $"volume '{name}' is a {source.Type} volume, which steps here cannot mount (supported: {string.Join(", ", Supported)})",
        VolumeKind.Claim when !Model.Manifests.ManifestValidator.IsDnsSubdomain(source.ClaimName ?? "") =>
            $"volume '{name}': persistentVolumeClaim.claimName '{source.ClaimName}' is not a valid claim name",
        _ => null,
    };

    /// <summary>The volumes of the container <paramref name="c"/> of pod <paramref name="pod"/>, or why it cannot have them.</summary>
    public async Task<(IReadOnlyList<SharedVolume> Volumes, string? Error)> ForAsync(Workflow wf, StepKey pod, Template t, Container c, CancellationToken ct)
    {
        var mounts = ContainerMounts.Of(c).ToList();
        if (mounts.Count == 0) return ([], null);
        var spec = wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec;
        var volumes = new List<SharedVolume>(mounts.Count);
        foreach (var (name, mountPath) in mounts)
        {
            var source = Find(name, t.Volumes, spec);
            if (Problem(name, source) is { } problem) return ([], problem);
            switch (source.Kind)
            {
                case VolumeKind.EmptyDir:
                    volumes.Add(new SharedVolume(pod, name, mountPath));
                    break;
                case VolumeKind.ClaimTemplate:
                    volumes.Add(new SharedVolume(new StepKey(pod.Namespace, pod.Workflow, ClaimsKey), name, mountPath));
                    break;
                case VolumeKind.Claim:
                    // As a pod whose claim is missing cannot start; here the step fails saying so instead of waiting.
                    if (await _store.GetAsync<PersistentVolumeClaim>(pod.Namespace, source.ClaimName!, ct).ConfigureAwait(false) is null)
                        return ([], $"volume '{name}': persistentvolumeclaim \"{source.ClaimName}\" not found in namespace '{pod.Namespace}'");
                    volumes.Add(new SharedVolume(ClaimOwner(pod.Namespace, source.ClaimName!), "data", mountPath));
                    break;
            }
        }
        return (volumes, null);
    }

    public void Dispose() => _watch.Dispose();
}
