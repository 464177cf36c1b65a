// Starts the shop for the tests; stops on SIGTERM.
'use strict';

const { bootstrap } = require('@vendure/core');
const { config } = require('./vendure-config');

bootstrap(config)
    .then(app => {
        const stop = () => app.close().then(() => process.exit(0), () => process.exit(1));
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        console.log('cs-console: vendure ready');
    })
    .catch(err => {
        console.error(err);
        process.exit(1);
    });
