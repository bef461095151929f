using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;
using Npgsql;
using Shouldly;

namespace EventGateway.Tests.Postgres;

/// <summary>The shared database: URLs, versioned migrations applied once across racing replicas, a newer schema refused.</summary>
public sealed class PostgresDatabaseTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Replicas_starting_together_apply_each_migration_once()
    {
        var url = await server.NewDatabaseAsync();

        var dbs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostgresDatabase.OpenAsync(url)));

        await using var c = await dbs[0].Source.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("SELECT scriptname, count(*) FROM egw_schema_versions GROUP BY scriptname HAVING count(*) > 1", c);
        (await cmd.ExecuteScalarAsync()).ShouldBeNull();
        await using var all = new NpgsqlCommand("SELECT count(*) FROM egw_schema_versions", c);
        ((long)(await all.ExecuteScalarAsync())!).ShouldBeGreaterThan(0);
        foreach (var db in dbs) await db.DisposeAsync();
    }

    [Fact]
    public async Task A_schema_newer_than_this_egw_is_refused_by_name()
    {
        var url = await server.NewDatabaseAsync();
        await (await PostgresDatabase.OpenAsync(url)).DisposeAsync();
        await using (var c = new NpgsqlConnection(server.ConnectionString(url.Split('/')[^1])))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("INSERT INTO egw_schema_versions (scriptname, applied) VALUES ('EventGateway.Postgres.Schema.Migrations.9999_future.sql', now())", c);
            await cmd.ExecuteNonQueryAsync();
        }

        var e = await Should.ThrowAsync<InvalidOperationException>(() => PostgresDatabase.OpenAsync(url));
        e.Message.ShouldContain("newer than this egw");
        e.Message.ShouldContain("9999_future");
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_a_clear_error()
    {
        var e = await Should.ThrowAsync<InvalidOperationException>(() => PostgresDatabase.OpenAsync($"postgres://egw:secret@127.0.0.1:{EventTestHost.FreePort()}/egw?connect_timeout=2"));
        e.Message.ShouldContain("does not answer");
        e.Message.ShouldNotContain("secret");
    }

    [Theory]
    [InlineData("mysql://h/db", "is not a PostgreSQL URL")]
    [InlineData("postgres://u:pw@h/db?sslmod=require", "unknown parameter 'sslmod'")]
    public void A_bad_url_names_what_is_wrong_without_its_password(string url, string expected)
    {
        var e = Should.Throw<ArgumentException>(() => PostgresDatabase.ToConnectionString(url));
        e.Message.ShouldContain(expected);
        e.Message.ShouldNotContain("pw@");
    }

    [Fact]
    public void A_url_becomes_a_connection_string()
    {
        var (cs, display) = PostgresDatabase.ToConnectionString("postgres://egw:p%40ss@db.example:6432/events?sslmode=require");
        var b = new NpgsqlConnectionStringBuilder(cs);
        (b.Host, b.Port, b.Database, b.Username, b.Password, b.SslMode).ShouldBe(("db.example", 6432, "events", "egw", "p@ss", SslMode.Require));
        display.ShouldBe("postgres://egw:***@db.example:6432/events?sslmode=require");
    }
}
