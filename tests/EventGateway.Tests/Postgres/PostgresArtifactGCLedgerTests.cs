using EventGateway.Postgres.Artifacts;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;
using EventGateway.Tests.Workflows.Artifacts;

namespace EventGateway.Tests.Postgres;

public sealed class PostgresArtifactGCLedgerTests(PostgresServer server) : ArtifactGCLedgerContractTests<PostgresArtifactGCLedger>, IClassFixture<PostgresServer>
{
    private readonly List<PostgresDatabase> _databases = [];
    private string _url = null!;

    public override async Task InitializeAsync()
    {
        _url = await server.NewDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override async Task<PostgresArtifactGCLedger> OpenAsync()
    {
        var db = await PostgresDatabase.OpenAsync(_url);
        _databases.Add(db);
        return new PostgresArtifactGCLedger(db);
    }

    public override async Task DisposeAsync()
    {
        foreach (var db in _databases) await db.DisposeAsync();
    }
}
