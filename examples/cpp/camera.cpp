// A C++ publisher and subscription of camera frames: loans own themselves.
#include <zloan/zloan.hpp>
#include <iostream>

struct image { uint64_t frame; uint8_t pixels[640 * 480]; };
ZLOAN_PLAIN_MESSAGE(image)

int main() try {
    zloan::context ctx;
    zloan::publisher<image> pub(ctx, "/camera");
    zloan::subscription<image> sub(ctx, "/camera");

    for (uint64_t i = 1; i <= 3; i++) {
        zloan::loaned_message<image> loan = pub.loan();  // shared memory, no copy
        loan->frame = i;                                 // fill it in place
        pub.publish(std::move(loan));                    // unpublished, it would be returned
    }
    while (zloan::received_loan<image> msg = sub.take_loan())  // returned at the end of each turn
        std::cout << "frame " << msg->frame << ", sequence "
                  << msg.info().publication_sequence << "\n";
} catch (const zloan::error &e) {  // the call, the code and zloan's detail
    std::cerr << e.what() << "\n";
    return 1;
}
