// cpp-codec: times ZeroC Ice's C++ streams encoding and decoding the benchmark's structs and
// classes data sets in memory, and prints the fastest of many rounds per operation as the JSON
// lines `floe-bench codec` prints, so the two encoders can be compared side by side.
//
//   cpp-codec [--items M] [--nodes T] [--rounds N]      (defaults as floe-bench codec)

#include <Bench.h>
#include <Ice/Ice.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace
{

// The standard data sets of BENCH.md: item k is {k as 8 zero-padded digits, k * 0.5, k};
// node k has id k, weight k * 0.25 and children 2k+1 and 2k+2 when those exist.
Bench::ItemSeq standardItems(int count)
{
    Bench::ItemSeq items(static_cast<size_t>(count));
    char digits[16];
    for(int k = 0; k < count; ++k)
    {
        std::snprintf(digits, sizeof(digits), "%08d", k % 100000000);
        items[k] = Bench::Item{digits, k * 0.5, k};
    }
    return items;
}

std::shared_ptr<Bench::Node> standardTree(int count)
{
    std::vector<std::shared_ptr<Bench::Node>> nodes;
    for(int k = 0; k < count; ++k)
    {
        nodes.push_back(std::make_shared<Bench::Node>(k, k * 0.25, nullptr, nullptr));
    }
    for(int k = 0; 2 * k + 1 < count; ++k)
    {
        nodes[k]->left = nodes[2 * k + 1];
        if(2 * k + 2 < count)
        {
            nodes[k]->right = nodes[2 * k + 2];
        }
    }
    return nodes.empty() ? nullptr : nodes[0];
}

int option(int argc, char* argv[], const char* name, int fallback, int low, int high)
{
    for(int i = 1; i + 1 < argc; ++i)
    {
        if(std::strcmp(argv[i], name) == 0)
        {
            int value = std::atoi(argv[i + 1]);
            if(value < low || value > high)
            {
                std::fprintf(stderr, "cpp-codec: %s must be in %d...%d\n", name, low, high);
                std::exit(2);
            }
            return value;
        }
    }
    return fallback;
}

// Runs `body` `rounds` times and prints the fastest round.
void report(const char* name, int count, size_t bytes, int rounds, const std::function<void()>& body)
{
    auto fastest = std::chrono::nanoseconds::max();
    for(int r = 0; r < rounds; ++r)
    {
        auto start = std::chrono::steady_clock::now();
        body();
        fastest = std::min(fastest, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - start));
    }
    double seconds = fastest.count() * 1e-9;
    std::printf("{\"codec\":\"%s\",\"count\":%d,\"bytes\":%zu,\"ns_per_element\":%.2f,\"mb_per_s\":%.1f}\n",
                name, count, bytes, seconds * 1e9 / count, bytes / seconds / 1e6);
}

}

int main(int argc, char* argv[])
{
    int items = option(argc, argv, "--items", 10000, 1, 10000000);
    int nodes = option(argc, argv, "--nodes", 1000, 1, 1000000);
    int rounds = option(argc, argv, "--rounds", 200, 1, 100000);

    Ice::CommunicatorHolder holder;
    try
    {
        holder = Ice::initialize();
    }
    catch(const std::exception& ex)
    {
        std::fprintf(stderr, "cpp-codec: %s\n", ex.what());
        return 1;
    }
    auto communicator = holder.communicator();
    const auto itemSeq = standardItems(items);
    const auto tree = standardTree(nodes);

    // Each encoding is an encapsulation, as a request's parameters are sent.
    auto encodeItems = [&](std::vector<Ice::Byte>& bytes) {
        Ice::OutputStream out(communicator);
        out.startEncapsulation();
        out.write(itemSeq);
        out.endEncapsulation();
        out.finished(bytes);
    };
    auto encodeTree = [&](std::vector<Ice::Byte>& bytes) {
        Ice::OutputStream out(communicator);
        out.startEncapsulation();
        out.write(tree);
        out.writePendingValues();
        out.endEncapsulation();
        out.finished(bytes);
    };
    std::vector<Ice::Byte> encodedItems, encodedTree, scratch;
    encodeItems(encodedItems);
    encodeTree(encodedTree);
    bool verified = true;

    report("structs-encode", items, encodedItems.size(), rounds, [&] { encodeItems(scratch); });
    report("structs-decode", items, encodedItems.size(), rounds, [&] {
        Ice::InputStream in(communicator, std::make_pair(encodedItems.data(), encodedItems.data() + encodedItems.size()));
        in.startEncapsulation();
        Bench::ItemSeq decoded;
        in.read(decoded);
        in.endEncapsulation();
        verified = verified && static_cast<int>(decoded.size()) == items;
    });
    report("classes-encode", nodes, encodedTree.size(), rounds, [&] { encodeTree(scratch); });
    report("classes-decode", nodes, encodedTree.size(), rounds, [&] {
        Ice::InputStream in(communicator, std::make_pair(encodedTree.data(), encodedTree.data() + encodedTree.size()));
        in.startEncapsulation();
        std::shared_ptr<Bench::Node> root;
        in.read(root);
        in.readPendingValues();
        in.endEncapsulation();
        verified = verified && root && root->id == 0;
    });
    if(!verified)
    {
        std::fprintf(stderr, "cpp-codec: decoding did not give back the data sets\n");
        return 1;
    }
    return 0;
}
