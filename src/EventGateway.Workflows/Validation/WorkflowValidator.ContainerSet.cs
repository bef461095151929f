using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    /// <summary>
    /// A containerSet's containers form a graph by plain names; its mounts must name volumes declared on the
    /// template or the workflow; declared outputs are read from the container named main, as in Argo.
    /// </summary>
    private static void ValidateContainerSet(Template t, ContainerSetTemplate set, JsonNode? workflowVolumes, string at, Action<string, string> fail)
    {
        at = $"{at}.containerSet";
        if (set.Containers.Count == 0) fail($"{at}.containers", "missing: a containerSet needs at least one container");
        var volumes = VolumeNames(t.Volumes).Concat(VolumeNames(workflowVolumes)).ToHashSet(StringComparer.Ordinal);
        void CheckMounts(IEnumerable<(string Name, string MountPath)> mounts, string mat)
        {
            var i = 0;
            foreach (var (name, path) in mounts)
            {
                if (!volumes.Contains(name)) fail($"{mat}[{i}].name", $"volume '{name}' is not declared in the template's or the workflow's volumes");
                if (!path.StartsWith('/') || path.Trim('/').Length == 0) fail($"{mat}[{i}].mountPath", $"'{path}' is not an absolute path below /");
                i++;
            }
        }
        CheckMounts((set.VolumeMounts ?? []).Select(m => (m.Name, m.MountPath)), $"{at}.volumeMounts");

        var edges = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal);
        for (var i = 0; i < set.Containers.Count; i++)
        {
            var c = set.Containers[i];
            var cat = $"{at}.containers[{i}]";
            if (string.IsNullOrEmpty(c.Name)) fail($"{cat}.name", "missing: every container of a containerSet needs a name");
            else if (!edges.TryAdd(c.Name, c.Dependencies ?? [])) fail($"{cat}.name", $"duplicate container name '{c.Name}' in template '{t.Name}'");
            if (string.IsNullOrEmpty(c.Image)) fail($"{cat}.image", "missing: a container needs an image");
            CheckMounts(ContainerMounts.Of(c), $"{cat}.volumeMounts");
        }
        for (var i = 0; i < set.Containers.Count; i++)
            foreach (var d in set.Containers[i].Dependencies ?? [])
                if (!edges.ContainsKey(d)) fail($"{at}.containers[{i}].dependencies", $"container '{d}' is not defined in template '{t.Name}'");
        if (FindCycle(edges) is { } cycle) fail($"{at}.containers", $"dependency cycle: {string.Join(" -> ", cycle)}");

        var readsFiles = (t.Outputs?.Parameters ?? []).Any(p => p.ValueFrom?.Path is not null) || (t.Outputs?.Artifacts ?? []).Any(a => a.Path is not null);
        if (readsFiles && !edges.ContainsKey("main"))
            fail($"{at}.containers", "outputs are read from the container named 'main', and this containerSet has none");
        if (set.RetryStrategy?.Retries is { } r && !r.Contains("{{", StringComparison.Ordinal) && (!int.TryParse(r, out var n) || n < 0))
            fail($"{at}.retryStrategy.retries", $"'{r}' is not a non-negative integer");
        if (set.RetryStrategy?.Duration is { } d2 && !d2.Contains("{{", StringComparison.Ordinal) && !Durations.TryParse(d2, out _))
            fail($"{at}.retryStrategy.duration", $"'{d2}' is not a duration like 10s, 2m or 1h");
    }

    private static IEnumerable<string> VolumeNames(JsonNode? volumes) =>
        volumes is JsonArray a ? a.Select(v => ContainerMounts.Text(v?["name"])).OfType<string>() : [];
}
