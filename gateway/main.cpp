#include "gateway/app/gateway_app.hpp"

int main(int argc, char** argv) {
  return bl::gateway_main(argc, argv);
}
