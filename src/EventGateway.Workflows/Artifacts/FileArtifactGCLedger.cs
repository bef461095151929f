using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// The embedded artifactGC ledger: one small file per artifact under {data}/artifact-gc/{namespace}/{workflow}/
/// (an entry's id is its file).
/// </summary>
public sealed class FileArtifactGCLedger(string dataDir) : IArtifactGCLedger
{
    private readonly string _root = Path.Combine(dataDir, "artifact-gc");

    public void Record(Workflow wf, string nodeId, Artifact saved, string strategy)
    {
        if (!ArtifactGCEntry.IsKept(strategy)) return;
        var dir = Dir(wf.NamespaceOrDefault, wf.Name);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{Uri.EscapeDataString(nodeId)}.{Uri.EscapeDataString(saved.Name)}.json");
        var temp = file + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(new ArtifactGCEntry(wf.Metadata.Uid ?? "", nodeId, strategy, saved), Json.Options));
        File.Move(temp, file, overwrite: true);
    }

    public IReadOnlyList<(string Id, ArtifactGCEntry Entry)> Entries(string @namespace, string workflow)
    {
        var dir = Dir(@namespace, workflow);
        if (!Directory.Exists(dir)) return [];
        var entries = new List<(string, ArtifactGCEntry)>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.json"))
            entries.Add((file, JsonSerializer.Deserialize<ArtifactGCEntry>(File.ReadAllBytes(file), Json.Lenient)!));
        return entries;
    }

    public IEnumerable<(string Namespace, string Workflow)> Workflows()
    {
        if (!Directory.Exists(_root)) yield break;
        foreach (var ns in Directory.EnumerateDirectories(_root))
            foreach (var wf in Directory.EnumerateDirectories(ns))
                yield return (Uri.UnescapeDataString(Path.GetFileName(ns)), Uri.UnescapeDataString(Path.GetFileName(wf)));
    }

    public void Remove(string id)
    {
        File.Delete(id);
        var dir = Path.GetDirectoryName(id)!;
        if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
    }

    private string Dir(string @namespace, string workflow) =>
        Path.Combine(_root, Uri.EscapeDataString(@namespace), Uri.EscapeDataString(workflow));
}
