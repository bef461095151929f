using Shouldly;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Store;

public sealed class SqliteResourceStoreTests : ResourceStoreContractTests<SqliteResourceStore>
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-store-");

    private string DbPath => Path.Combine(_dir.FullName, "state", "store.db");

    protected override Task<SqliteResourceStore> OpenAsync() => Task.FromResult(new SqliteResourceStore(DbPath, _time));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task The_store_is_one_file_that_is_made_with_its_directory()
    {
        await _store.CreateAsync(Wf("durable"));
        File.Exists(DbPath).ShouldBeTrue();
    }
}
