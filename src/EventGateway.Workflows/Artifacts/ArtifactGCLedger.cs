using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// The durable list of saved artifacts that artifactGC will delete, one small file per artifact under
/// {data}/artifact-gc/{namespace}/{workflow}/. Written when the artifact is saved, so the objects are found
/// again after the workflow object is gone (deletion) or the service restarted in between.
/// </summary>
public sealed class ArtifactGCLedger(string dataDir)
{
    private readonly string _root = Path.Combine(dataDir, "artifact-gc");

    public sealed record Entry(string Uid, string NodeId, string Strategy, Artifact Artifact);

    public void Record(Workflow wf, string nodeId, Artifact saved, string strategy)
    {
        if (strategy is not (ArtifactGC.OnWorkflowCompletion or ArtifactGC.OnWorkflowDeletion)) return;
        var dir = Dir(wf.NamespaceOrDefault, wf.Name);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{Uri.EscapeDataString(nodeId)}.{Uri.EscapeDataString(saved.Name)}.json");
        var temp = file + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(new Entry(wf.Metadata.Uid ?? "", nodeId, strategy, saved), Json.Options));
        File.Move(temp, file, overwrite: true);
    }

    public IReadOnlyList<(string File, Entry Entry)> Entries(string @namespace, string workflow)
    {
        var dir = Dir(@namespace, workflow);
        if (!Directory.Exists(dir)) return [];
        var entries = new List<(string, Entry)>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.json"))
            entries.Add((file, JsonSerializer.Deserialize<Entry>(File.ReadAllBytes(file), Json.Lenient)!));
        return entries;
    }

    /// <summary>Every workflow with entries: what a restarted service must look at.</summary>
    public IEnumerable<(string Namespace, string Workflow)> Workflows()
    {
        if (!Directory.Exists(_root)) yield break;
        foreach (var ns in Directory.EnumerateDirectories(_root))
            foreach (var wf in Directory.EnumerateDirectories(ns))
                yield return (Uri.UnescapeDataString(Path.GetFileName(ns)), Uri.UnescapeDataString(Path.GetFileName(wf)));
    }

    public void Remove(string file)
    {
        File.Delete(file);
        var dir = Path.GetDirectoryName(file)!;
        if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
    }

    private string Dir(string @namespace, string workflow) =>
        Path.Combine(_root, Uri.EscapeDataString(@namespace), Uri.EscapeDataString(workflow));
}
