// The system's libbzip2 (Debian: libbz2-dev), the codec of ZeroC Ice's message compression.
#include <bzlib.h>
