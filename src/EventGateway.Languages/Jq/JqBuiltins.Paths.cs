namespace EventGateway.Languages.Jq;

internal static partial class JqBuiltins
{
    private static void AddPaths(Dictionary<string, JqBuiltin> t)
    {
        Gen(t, "path", 1, (v, a, env) => a[0].Eval(new Out(v, JqPath.Root), env).Select(o => (object?)o.Path!.ToArray()));
        Gen(t, "paths", 0, (v, _, env) => RecurseNode.Recurse(new Out(v, JqPath.Root), env, 0)
            .Where(o => o.Path!.Length > 0)
            .Select(o => (object?)o.Path!.ToArray()));
        Gen(t, "paths", 1, (v, a, env) => RecurseNode.Recurse(new Out(v, JqPath.Root), env, 0)
            .Where(o => o.Path!.Length > 0 && Cond(a[0], o.Value, env))
            .Select(o => (object?)o.Path!.ToArray()));
        Gen(t, "leaf_paths", 0, (v, _, env) => RecurseNode.Recurse(new Out(v, JqPath.Root), env, 0)
            .Where(o => o.Path!.Length > 0 && o.Value is not (object?[] or JqObject))
            .Select(o => (object?)o.Path!.ToArray()));
        t["getpath/1"] = (input, args, env) => args[0].Values(input.Value, env).Select(p =>
        {
            var path = PathArray(p);
            return new Out(JqOps.GetPath(input.Value, path), input.Path?.AddRange(path));
        });
        Fn2(t, "setpath", (v, p, x, env) => JqOps.SetPath(v, PathArray(p), 0, x, null, env.Run));
        Fn1(t, "delpaths", (v, ps, env) => JqOps.DelPaths(v, (ps as object?[] ?? throw new JqError("Paths must be specified as an array"))
            .Select(PathArray).ToList(), env.Run));
        Gen(t, "del", 1, (v, a, env) => [JqOps.DelPaths(v, a[0].Paths(v, env), env.Run)]);
        Gen(t, "pick", 1, (v, a, env) =>
        {
            object? result = null;
            foreach (var p in a[0].Paths(v, env))
            {
                result = JqOps.SetPath(result, p, 0, JqOps.GetPath(v, p), null, env.Run);
            }

            return [result];
        });
    }

    private static object?[] PathArray(object? p) => p as object?[] ?? throw new JqError("Path must be specified as an array");
}
