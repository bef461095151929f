using System.Text;

namespace EventGateway.Languages.Jq;

/// <summary>jq's operations on values: indexing, slicing, arithmetic and the path functions behind assignment.</summary>
internal static class JqOps
{
    public static bool IsSlice(JqObject o) => o.Count == 2 && o.ContainsKey("start") && o.ContainsKey("end");

    public static JqObject SliceKey(object? start, object? end) => new() { ["start"] = start, ["end"] = end };

    /// <summary>Indexes an output, extending its path when paths are tracked.</summary>
    public static Out Index(Out target, object? key) => new(Index(target.Value, key), target.Path?.Add(key));

    public static object? Index(object? target, object? key)
    {
        switch (target, key)
        {
            case (null, null or string or double):
                return null;
            case (null, JqObject k) when IsSlice(k):
                return null;
            case (JqObject o, string s):
                return o.TryGetValue(s, out var v) ? v : null;
            case (object?[] a, double d):
                if (double.IsNaN(d))
                {
                    return null;
                }

                var i = (long)Math.Floor(d);
                if (i < 0)
                {
                    i += a.Length;
                }

                return i >= 0 && i < a.Length ? a[i] : null;
            case (object?[] or string, JqObject k) when IsSlice(k):
                return Slice(target, k["start"], k["end"]);
            case (object?[] a, object?[] sub):
                return Indices(a, sub);
            default:
                throw new JqError(key is string name
                    ? $"Cannot index {JqValues.TypeName(target)} with \"{name}\""
                    : $"Cannot index {JqValues.TypeName(target)} with {JqValues.TypeName(key)}");
        }
    }

    public static object? Slice(object? target, object? from, object? to)
    {
        if (from is not (null or double) || to is not (null or double))
        {
            throw new JqError("Start and end indices of an array slice must be numbers");
        }

        switch (target)
        {
            case null:
                return null;
            case object?[] a:
            {
                var (s, e) = Bounds(a.Length, from, to);
                return a[s..e];
            }

            case string str:
            {
                var runes = Runes(str);
                var (s, e) = Bounds(runes.Length, from, to);
                var sb = new StringBuilder();
                for (var i = s; i < e; i++)
                {
                    sb.Append(runes[i].ToString());
                }

                return sb.ToString();
            }

            default:
                throw new JqError($"Cannot index {JqValues.TypeName(target)} with object");
        }
    }

    public static (int Start, int End) Bounds(int length, object? from, object? to)
    {
        var s = from is double f ? f : 0;
        var e = to is double t ? t : length;
        if (s < 0)
        {
            s += length;
        }

        if (e < 0)
        {
            e += length;
        }

        var si = (int)Math.Clamp(Math.Floor(s), 0, length);
        var ei = (int)Math.Clamp(Math.Ceiling(e), 0, length);
        return (si, Math.Max(si, ei));
    }

    public static Rune[] Runes(string s) => s.EnumerateRunes().ToArray();

    /// <summary>Where <paramref name="sub"/> occurs in <paramref name="a"/>; null for an empty needle, as jq.</summary>
    public static object? Indices(object?[] a, object?[] sub, JqRun? run = null)
    {
        if (sub.Length == 0)
        {
            return null;
        }

        var work = (long)a.Length * sub.Length;
        if (run is not null)
        {
            run.Tick(work);
        }
        else if (work > 10_000_000)
        {
            throw new TransformException($"searching an array of {a.Length} for {sub.Length} elements is too much work");
        }

        var found = new List<object?>();
        for (var i = 0; i + sub.Length <= a.Length; i++)
        {
            var match = true;
            for (var j = 0; j < sub.Length && match; j++)
            {
                match = JqValues.DeepEquals(a[i + j], sub[j]);
            }

            if (match)
            {
                found.Add((double)i);
            }
        }

        return found.ToArray();
    }

    public static object? Add(object? a, object? b, JqRun run)
    {
        switch (a, b)
        {
            case (null, _): return b;
            case (_, null): return a;
            case (double x, double y): return x + y;
            case (string x, string y):
                run.Tick(x.Length + y.Length);
                return x + y;
            case (object?[] x, object?[] y):
                run.Tick(x.Length + y.Length);
                object?[] joined = [.. x, .. y];
                return joined;
            case (JqObject x, JqObject y):
                run.Tick(x.Count + y.Count);
                var merged = new JqObject(x);
                foreach (var (k, v) in y)
                {
                    merged[k] = v;
                }

                return merged;
            default:
                throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be added");
        }
    }

    public static object? Subtract(object? a, object? b, JqRun run)
    {
        switch (a, b)
        {
            case (double x, double y): return x - y;
            case (object?[] x, object?[] y):
                run.Tick((long)x.Length * Math.Max(1, y.Length));
                return x.Where(v => !y.Any(w => JqValues.DeepEquals(v, w))).ToArray();
            default:
                throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be subtracted");
        }
    }

    public static object? Multiply(object? a, object? b, JqRun run)
    {
        switch (a, b)
        {
            case (double x, double y): return x * y;
            case (string s, double n): return Repeat(s, n, run);
            case (double n, string s): return Repeat(s, n, run);
            case (JqObject x, JqObject y): return DeepMerge(x, y, run, 0);
            default:
                throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be multiplied");
        }
    }

    public static object? Divide(object? a, object? b, JqRun run)
    {
        switch (a, b)
        {
            case (double x, double y):
                if (y == 0)
                {
                    throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be divided because the divisor is zero");
                }

                return x / y;
            case (string s, string sep):
                return Split(s, sep, run);
            default:
                throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be divided");
        }
    }

    public static object? Modulo(object? a, object? b)
    {
        if (a is double x && b is double y)
        {
            if (double.IsNaN(x) || double.IsNaN(y))
            {
                return double.NaN;
            }

            var d = ToLong(y);
            if (d == 0)
            {
                throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be divided because the divisor is zero");
            }

            return d == -1 ? 0d : (double)(ToLong(x) % d);
        }

        throw new JqError($"{JqValues.Describe(a)} and {JqValues.Describe(b)} cannot be divided");
    }

    private static long ToLong(double d) => d >= long.MaxValue ? long.MaxValue : d <= long.MinValue ? long.MinValue : (long)d;

    private static object? Repeat(string s, double n, JqRun run)
    {
        var count = n >= int.MaxValue ? int.MaxValue : (int)n;
        if (count <= 0)
        {
            return null;
        }

        run.Tick((long)s.Length * count);
        return new StringBuilder(s.Length * count).Insert(0, s, count).ToString();
    }

    private static JqObject DeepMerge(JqObject x, JqObject y, JqRun run, int depth)
    {
        JqValues.CheckDepth(depth);
        run.Tick(x.Count + y.Count);
        var merged = new JqObject(x);
        foreach (var (k, v) in y)
        {
            merged[k] = merged.TryGetValue(k, out var old) && old is JqObject ox && v is JqObject oy ? DeepMerge(ox, oy, run, depth + 1) : v;
        }

        return merged;
    }

    public static object?[] Split(string s, string sep, JqRun run)
    {
        run.Tick(s.Length);
        if (s.Length == 0)
        {
            return [];
        }

        if (sep.Length == 0)
        {
            return s.EnumerateRunes().Select(r => (object?)r.ToString()).ToArray();
        }

        return s.Split(sep).Select(p => (object?)p).ToArray();
    }

    public static object? GetPath(object? root, object?[] path)
    {
        var v = root;
        foreach (var key in path)
        {
            if (v is null)
            {
                return null;
            }

            v = Index(v, key);
        }

        return v;
    }

    /// <summary>
    /// Copy-on-write <c>setpath</c>. Containers listed in <paramref name="fresh"/> were copied by this same assignment
    /// and are not shared yet, so they are updated in place: that keeps <c>.[] |= f</c> linear instead of quadratic.
    /// </summary>
    public static object? SetPath(object? root, object?[] path, int i, object? value, HashSet<object>? fresh, JqRun run)
    {
        if (i == path.Length)
        {
            return value;
        }

        JqValues.CheckDepth(i);
        var key = path[i];
        switch (key)
        {
            case string name:
            {
                var obj = root switch
                {
                    null => Fresh(new JqObject(), fresh),
                    JqObject o when fresh?.Contains(o) == true => o,
                    JqObject o => Fresh(Copy(o, run), fresh),
                    _ => throw new JqError($"Cannot index {JqValues.TypeName(root)} with \"{name}\""),
                };
                obj.TryGetValue(name, out var child);
                obj[name] = SetPath(child, path, i + 1, value, fresh, run);
                return obj;
            }

            case double d:
            {
                var arr = root switch
                {
                    null => [],
                    object?[] a => a,
                    _ => throw new JqError($"Cannot index {JqValues.TypeName(root)} with number"),
                };
                if (double.IsNaN(d))
                {
                    throw new JqError("Cannot set an array element at a NaN index");
                }

                var idx = (long)Math.Floor(d);
                if (idx < 0)
                {
                    idx += arr.Length;
                    if (idx < 0)
                    {
                        throw new JqError("Out of bounds negative array index");
                    }
                }

                if (idx >= arr.Length)
                {
                    run.Tick(idx + 1);
                    var grown = new object?[idx + 1];
                    Array.Copy(arr, grown, arr.Length);
                    arr = Fresh(grown, fresh);
                }
                else if (fresh?.Contains(arr) != true)
                {
                    run.Tick(arr.Length);
                    arr = Fresh((object?[])arr.Clone(), fresh);
                }

                arr[idx] = SetPath(arr[idx], path, i + 1, value, fresh, run);
                return arr;
            }

            case JqObject slice when IsSlice(slice):
            {
                var arr = root switch
                {
                    null => [],
                    object?[] a => a,
                    _ => throw new JqError($"Cannot update field at object index of {JqValues.TypeName(root)}"),
                };
                var (s, e) = Bounds(arr.Length, slice["start"], slice["end"]);
                var replaced = SetPath(arr[s..e], path, i + 1, value, fresh, run);
                if (replaced is not object?[] middle)
                {
                    throw new JqError("A slice of an array can only be assigned another array");
                }

                run.Tick(arr.Length + middle.Length);
                return Fresh<object?[]>([.. arr[..s], .. middle, .. arr[e..]], fresh);
            }

            default:
                throw new JqError($"Cannot update field at {JqValues.TypeName(key)} index of {JqValues.TypeName(root)}");
        }
    }

    private static JqObject Copy(JqObject o, JqRun run)
    {
        run.Tick(o.Count);
        return new JqObject(o);
    }

    private static T Fresh<T>(T container, HashSet<object>? fresh)
        where T : class
    {
        fresh?.Add(container);
        return container;
    }

    /// <summary>
    /// <c>delpaths</c>: all deletions under one container are applied in one pass, which is what jq's "delete the
    /// longest/last paths first" order achieves, without shifting array indexes under the later deletions.
    /// </summary>
    public static object? DelPaths(object? root, IReadOnlyList<object?[]> paths, JqRun run) => Delete(root, paths, 0, run);

    private static object? Delete(object? value, IReadOnlyList<object?[]> paths, int depth, JqRun run)
    {
        JqValues.CheckDepth(depth);
        if (paths.Count == 0)
        {
            return value;
        }

        if (paths.Any(p => p.Length == depth))
        {
            return null;
        }

        switch (value)
        {
            case null:
                return null;
            case JqObject o:
            {
                run.Tick(o.Count);
                var copy = new JqObject(o);
                foreach (var group in paths.GroupBy(p => p[depth] is string s ? s : throw DeleteError(p[depth], value)))
                {
                    if (!copy.TryGetValue(group.Key, out var child))
                    {
                        continue;
                    }

                    if (group.Any(p => p.Length == depth + 1))
                    {
                        copy.Remove(group.Key);
                    }
                    else
                    {
                        copy[group.Key] = Delete(child, group.ToList(), depth + 1, run);
                    }
                }

                return copy;
            }

            case object?[] a:
            {
                run.Tick(a.Length);
                var removed = new bool[a.Length];
                var nested = new Dictionary<int, List<object?[]>>();
                foreach (var p in paths)
                {
                    switch (p[depth])
                    {
                        case double d:
                            var idx = (long)Math.Floor(d);
                            if (idx < 0)
                            {
                                idx += a.Length;
                            }

                            if (idx < 0 || idx >= a.Length)
                            {
                                if (idx < 0 && p.Length == depth + 1)
                                {
                                    throw new JqError("Out of bounds negative array index");
                                }

                                continue;
                            }

                            if (p.Length == depth + 1)
                            {
                                removed[idx] = true;
                            }
                            else
                            {
                                (nested.TryGetValue((int)idx, out var list) ? list : nested[(int)idx] = []).Add(p);
                            }

                            break;
                        case JqObject slice when IsSlice(slice):
                            if (p.Length != depth + 1)
                            {
                                throw new JqError("Cannot delete inside an array slice");
                            }

                            var (s, e) = Bounds(a.Length, slice["start"], slice["end"]);
                            for (var i = s; i < e; i++)
                            {
                                removed[i] = true;
                            }

                            break;
                        default:
                            throw DeleteError(p[depth], value);
                    }
                }

                var result = new List<object?>(a.Length);
                for (var i = 0; i < a.Length; i++)
                {
                    if (!removed[i])
                    {
                        result.Add(nested.TryGetValue(i, out var sub) ? Delete(a[i], sub, depth + 1, run) : a[i]);
                    }
                }

                return result.ToArray();
            }

            default:
                throw DeleteError(paths[0][depth], value);
        }
    }

    private static JqError DeleteError(object? key, object? container) =>
        new($"Cannot delete field at {JqValues.TypeName(key)} index of {JqValues.TypeName(container)}");
}
