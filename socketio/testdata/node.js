// Runs scenarios.js with socket.io-client in Node:
//   node node.js <base URL> <mode> <scenario,scenario,...>
// and prints their results as JSON.
const { io } = require("socket.io-client");
const make = require("./scenarios.js");

const [base, mode, names] = process.argv.slice(2);
make(io, base, mode)
  .run(names.split(","))
  .then((results) => {
    console.log(JSON.stringify(results));
    process.exit(0);
  });
