// Creates the sample shop once: `node populate.js INITIAL_DATA_JSON PRODUCTS_CSV`.
// populate() boots a throwaway app on the configured port and closes it when done.
'use strict';

const { bootstrap } = require('@vendure/core');
const { populate } = require('@vendure/core/cli');
const { config } = require('./vendure-config');

const [initialDataPath, productsCsvPath] = process.argv.slice(2);
if (!initialDataPath || !productsCsvPath) {
    console.error('usage: node populate.js INITIAL_DATA_JSON PRODUCTS_CSV');
    process.exit(2);
}

populate(() => bootstrap(config), require(initialDataPath), productsCsvPath)
    .then(app => app.close())
    .then(() => process.exit(0))
    .catch(err => {
        console.error(err);
        process.exit(1);
    });
