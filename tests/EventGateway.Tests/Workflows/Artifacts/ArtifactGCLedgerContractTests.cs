using Shouldly;
using EventGateway.Model;
using EventGateway.Workflows.Artifacts;

namespace EventGateway.Tests.Workflows.Artifacts;

/// <summary>What every <see cref="IArtifactGCLedger"/> promises (files in the data directory, a PostgreSQL table).</summary>
public abstract class ArtifactGCLedgerContractTests<TLedger> : IAsyncLifetime where TLedger : class, IArtifactGCLedger
{
    protected TLedger _ledger = null!;

    protected abstract Task<TLedger> OpenAsync();

    public virtual async Task InitializeAsync() => _ledger = await OpenAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static Workflow Wf(string name, string ns = "default") => new()
    {
        Kind = "Workflow",
        ApiVersion = Resources.ArgoApiVersion,
        Metadata = new ObjectMeta { Name = name, Namespace = ns, Uid = $"uid-{name}" },
    };

    private static Artifact Saved(string name, string key) => new() { Name = name, Path = "/tmp/" + name, S3 = new S3Artifact { Key = key } };

    [Fact]
    public async Task Entries_are_kept_per_workflow_until_removed_and_survive_reopening()
    {
        _ledger.Record(Wf("build"), "build-1", Saved("out", "k1"), ArtifactGC.OnWorkflowCompletion);
        _ledger.Record(Wf("build"), "build-2", Saved("log", "k2"), ArtifactGC.OnWorkflowDeletion);
        _ledger.Record(Wf("build", "team-a"), "build-1", Saved("out", "k3"), ArtifactGC.OnWorkflowDeletion);
        _ledger.Record(Wf("keep"), "keep-1", Saved("out", "k4"), ArtifactGC.Never);

        _ledger = await OpenAsync();
        _ledger.Workflows().Order().ShouldBe([("default", "build"), ("team-a", "build")]);
        var entries = _ledger.Entries("default", "build");
        entries.Select(e => (e.Entry.Uid, e.Entry.NodeId, e.Entry.Strategy, e.Entry.Artifact.Name, e.Entry.Artifact.S3!.Key)).OrderBy(e => e.NodeId, StringComparer.Ordinal).ShouldBe(
        [
            ("uid-build", "build-1", ArtifactGC.OnWorkflowCompletion, "out", "k1"),
            ("uid-build", "build-2", ArtifactGC.OnWorkflowDeletion, "log", "k2"),
        ]);
        _ledger.Entries("default", "keep").ShouldBeEmpty();

        foreach (var (id, _) in entries) _ledger.Remove(id);
        _ledger.Entries("default", "build").ShouldBeEmpty();
        _ledger.Workflows().ShouldBe([("team-a", "build")]);
    }

    [Fact]
    public void An_artifact_saved_again_replaces_its_entry()
    {
        _ledger.Record(Wf("retry"), "n1", Saved("out", "attempt-1"), ArtifactGC.OnWorkflowCompletion);
        _ledger.Record(Wf("retry"), "n1", Saved("out", "attempt-2"), ArtifactGC.OnWorkflowCompletion);
        _ledger.Entries("default", "retry").ShouldHaveSingleItem().Entry.Artifact.S3!.Key.ShouldBe("attempt-2");
    }
}

public sealed class FileArtifactGCLedgerTests : ArtifactGCLedgerContractTests<FileArtifactGCLedger>
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-gc-").FullName;

    protected override Task<FileArtifactGCLedger> OpenAsync() => Task.FromResult(new FileArtifactGCLedger(_dir));

    public override Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
