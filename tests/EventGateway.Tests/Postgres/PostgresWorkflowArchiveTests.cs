using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Store;
using EventGateway.Tests.Support;
using EventGateway.Tests.Workflows.Store;

namespace EventGateway.Tests.Postgres;

public sealed class PostgresWorkflowArchiveTests(PostgresServer server) : WorkflowArchiveContractTests<PostgresWorkflowArchive>, IClassFixture<PostgresServer>
{
    private readonly List<PostgresDatabase> _databases = [];
    private string _url = null!;

    public override async Task InitializeAsync()
    {
        _url = await server.NewDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override async Task<PostgresWorkflowArchive> OpenAsync()
    {
        var db = await PostgresDatabase.OpenAsync(_url);
        _databases.Add(db);
        return new PostgresWorkflowArchive(db);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var db in _databases) await db.DisposeAsync();
    }
}
