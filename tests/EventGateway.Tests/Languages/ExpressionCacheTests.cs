using Shouldly;
using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

public class ExpressionCacheTests
{
    [Fact]
    public void Bounded_cache_never_exceeds_its_capacity_and_keeps_working()
    {
        var cache = new BoundedCache<int>(8);
        for (var i = 0; i < 100; i++)
        {
            cache.GetOrAdd($"k{i}", k => k.Length).ShouldBe($"k{i}".Length);
            cache.Count.ShouldBeLessThanOrEqualTo(8);
        }
    }

    [Fact]
    public void Bounded_cache_returns_cached_values_without_calling_the_factory()
    {
        var cache = new BoundedCache<string>(8);
        var calls = 0;
        cache.GetOrAdd("a", k => { calls++; return k + "!"; }).ShouldBe("a!");
        cache.GetOrAdd("a", k => { calls++; return k + "?"; }).ShouldBe("a!");
        calls.ShouldBe(1);
    }

    [Fact]
    public void Factory_failures_are_not_cached()
    {
        var cache = new BoundedCache<int>(8);
        Should.Throw<InvalidOperationException>(() => cache.GetOrAdd("x", _ => throw new InvalidOperationException()));
        cache.GetOrAdd("x", _ => 5).ShouldBe(5);
    }

    [Fact]
    public void Expression_cache_stays_bounded_under_many_distinct_expressions()
    {
        var env = new Dictionary<string, object?> { ["n"] = 1L };
        for (var i = 0; i < 5000; i++)
        {
            ArgoExpression.Evaluate($"n + {i}", env).ShouldBe(1L + i);
        }

        ArgoExpression.CachedCount.ShouldBeLessThanOrEqualTo(4096);
    }

    [Fact]
    public void Cached_expressions_evaluate_against_each_new_env()
    {
        ArgoExpression.Evaluate("item * 2", new Dictionary<string, object?> { ["item"] = 2L }).ShouldBe(4L);
        ArgoExpression.Evaluate("item * 2", new Dictionary<string, object?> { ["item"] = 5L }).ShouldBe(10L);
    }

    [Fact]
    public void Concurrent_evaluation_is_safe()
    {
        Parallel.For(0, 2000, i =>
        {
            var env = new Dictionary<string, object?> { ["item"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            ArgoExpression.Evaluate($"asInt(item) + {i % 7}", env).ShouldBe((long)i + (i % 7));
        });
    }
}
